"""``manage.py coach_transcript FILE [--json]``: the transcript coaching report, offline."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tutor.coaching.actions import transcript_coaching_upload
from tutor.coaching.talkmoves import MAX_BYTES, TranscriptError


class Command(BaseCommand):
    help = "Coach a classroom transcript (CSV line,speaker,text or 'Speaker: text' lines)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        try:
            report = transcript_coaching_upload(data=data, filename=path.name)
        except TranscriptError as exc:
            raise CommandError(f"{path}: {exc}") from None
        if options["json"]:
            report.pop("method", None)
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        for name, s in report["scores"].items():
            self.stdout.write(f"{name}: {s['score']} (lines {', '.join(map(str, s['evidence_lines'])) or '-'})")
        for title in ("highlights", "missed_opportunities"):
            self.stdout.write(f"\n{title.replace('_', ' ').capitalize()}:")
            for h in report[title]:
                self.stdout.write(f"  line {h['line']}: {h['quote']} - {h['reason']}")
        self.stdout.write("\nSuggestions:")
        for h in report["suggestions"]:
            self.stdout.write(f"  line {h['line']}: {h['suggestion']}")

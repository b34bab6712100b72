"""``manage.py import_curriculum PATH``: validate and import a curriculum package.

Exit status 0 on success; non-zero with every problem, each naming the file,
the place inside it and what is wrong, on failure. Nothing is written unless
the whole package is valid.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tutor.curricula.importer import CurriculumInvalid, curriculum_import
from tutor.curricula.package import PackageError
from tutor.curricula.sources import FORMATS, package_from_path


class Command(BaseCommand):
    help = "Validate and import a curriculum package (JSON, YAML, zip, coherence map or OATutor content pool)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", choices=FORMATS, default="auto")
        parser.add_argument("--id", dest="package_id", help="Use this curriculum id instead of the package's own.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument(
            "--break-cycles", action="store_true", help="Drop prerequisite back-edges that close cycles, and list them."
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, path: Path, **options) -> None:
        try:
            doc, fmt = package_from_path(path, options["format"], package_id=options["package_id"])
            result = curriculum_import(
                doc, source_format=fmt, break_cycles=options["break_cycles"], dry_run=options["dry_run"]
            )
        except PackageError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except CurriculumInvalid as exc:
            lines = [f"{path}: {issue}" for issue in exc.issues]
            raise CommandError(f"{len(exc.issues)} problem(s) found; nothing was imported.\n" + "\n".join(lines))
        report = result.report
        if options["json"]:
            out = {"ok": True, "dry_run": options["dry_run"], "format": fmt, "summary": report.summary}
            if result.curriculum:
                out["version"] = result.curriculum.version
            self.stdout.write(json.dumps(out))
            return
        for u, v in report.dropped_edges:
            self.stdout.write(f"dropped prerequisite edge {u} -> {v} (it closed a cycle)")
        s = report.summary
        counts = ", ".join(f"{s[k]} {k}" for k in ("concepts", "prerequisites", "passages", "problems", "items"))
        if result.curriculum is None:
            self.stdout.write(self.style.SUCCESS(f"{path}: valid {fmt} package {s['id']!r} ({counts}); dry run"))
        else:
            c = result.curriculum
            self.stdout.write(self.style.SUCCESS(f"Imported {c.title!r} as {c.slug} version {c.version} ({counts})"))

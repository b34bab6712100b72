"""Run the deletion requests whose cool-off is over, now (what the beat task does), for cron or by hand.

``--now`` pretends it is another time (ISO 8601), e.g. to check what a run
would do next week; a time in the past runs nothing new.
"""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tutor.privacy.actions import deletions_due_run, transcripts_purge
from tutor.privacy.models import DeletionRequest


class Command(BaseCommand):
    help = "Run the privacy deletion requests whose cool-off is over (and, with --purge, the transcript retention)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", help="the time to run as, ISO 8601 (default: now)")
        parser.add_argument("--purge", action="store_true", help="also purge transcripts past the retention period")

    def handle(self, *args, now: str | None = None, purge: bool = False, **options) -> None:
        when = timezone.now()
        if now:
            try:
                when = datetime.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(f"--now {now!r} is not an ISO 8601 time: {exc}") from exc
            if timezone.is_naive(when):
                when = timezone.make_aware(when, timezone.get_current_timezone())
        done = deletions_due_run(now=when)
        for deletion in DeletionRequest.objects.filter(pk__in=done):
            rows = sum(deletion.counts.values())
            self.stdout.write(f"deletion request {deletion.pk} done: {rows} rows in {len(deletion.counts)} tables")
        self.stdout.write(f"{len(done)} deletion request(s) done")
        if purge:
            counts = transcripts_purge(now=when)
            self.stdout.write(f"transcripts purged: {counts or 'none (nothing old enough, or retention off)'}")

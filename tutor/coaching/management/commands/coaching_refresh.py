"""Rebuild the coaching dashboard's pre-aggregated tables from source.

    python manage.py coaching_refresh [--curriculum SLUG]

Turns and item answers refresh their student's rows after commit; this is for
the rest: the first deploy of the tables, a restore, or rows left stale by a
refresh that failed. Idempotent: every row set is recomputed from source.
"""

from django.core.management.base import BaseCommand

from tutor.coaching.actions import coaching_refresh_all


class Command(BaseCommand):
    help = "Rebuild the coaching dashboard's aggregate tables from source (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--curriculum", help="only this curriculum slug")

    def handle(self, *args, **options) -> None:
        n = coaching_refresh_all(curriculum_slug=options["curriculum"])
        self.stdout.write(f"Refreshed coaching aggregates for {n} (student, curriculum) pairs.")

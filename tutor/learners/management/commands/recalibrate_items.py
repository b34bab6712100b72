"""Refit item parameters now, as the beat task does (for the embedded mode, which runs no beat)."""

from django.core.management.base import BaseCommand, CommandError

from tutor.learners.actions import MIN_RESPONSES
from tutor.learners.tasks import recalibrate_items


class Command(BaseCommand):
    help = "Recalibrate IRT item parameters from stored responses; stores a new version only when they changed."

    def add_arguments(self, parser):
        parser.add_argument("--curriculum", type=int, help="one curriculum version's id (default: every one)")
        parser.add_argument("--model", choices=["1pl", "2pl", "3pl"], default="2pl")
        parser.add_argument("--min-responses", type=int, default=MIN_RESPONSES)

    def handle(self, *args, curriculum, model, min_responses, **options):
        if min_responses < 1:
            raise CommandError(f"--min-responses must be at least 1, got {min_responses}")
        stored = recalibrate_items(curriculum_id=curriculum, model=model, min_responses=min_responses)
        self.stdout.write(f"{stored} new calibration version(s) stored")

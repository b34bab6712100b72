from django.apps import AppConfig


class CoachingConfig(AppConfig):
    """Teacher coaching reports: class dashboard, misconception insight, recommendations, drill-down, transcripts."""

    name = "tutor.coaching"
    label = "coaching"

from django.apps import AppConfig


class PlanningConfig(AppConfig):
    """Learning goals, the multi-goal learning path of each student, and the agent loop across problems."""

    name = "tutor.planning"
    label = "planning"

from django.apps import AppConfig


class TutorModelsConfig(AppConfig):
    """Dataset building, fine-tuning and evaluation of the turn model (management commands)."""

    name = "tutor.tutormodels"
    label = "tutormodels"

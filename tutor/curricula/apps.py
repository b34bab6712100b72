from django.apps import AppConfig


class CurriculaConfig(AppConfig):
    name = "tutor.curricula"
    label = "curricula"

from django.apps import AppConfig


class DialogueConfig(AppConfig):
    name = "tutor.dialogue"
    label = "dialogue"

from django.apps import AppConfig


class SrlConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tutor.srl"
    verbose_name = "Self-regulated learning"

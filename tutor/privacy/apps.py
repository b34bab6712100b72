from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tutor.privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        from tutor.privacy.providers import autodiscover

        autodiscover()  # imports tutor/<app>/privacy.py of every installed app, like the admin's admin.py

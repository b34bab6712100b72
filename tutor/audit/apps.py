from django.apps import AppConfig


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tutor.audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from tutor.audit import signals  # noqa: F401  (connects the role-change receivers)

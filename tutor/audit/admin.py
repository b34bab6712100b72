"""The audit log in the Django admin: read-only (no add, change or delete for anyone)."""

from django.contrib import admin

from tutor.audit.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin list and detail page that nobody can add to, change or delete from (records, not data)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "action", "subject_name", "object_type", "object_id", "ip")
    list_filter = ("action",)
    search_fields = ("actor_name", "subject_name", "object_id")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

"""Deletion requests in the Django admin: read-only, so the record of a deletion cannot be edited or removed.

Requests are made and cancelled on the privacy pages (``/privacy/``); the
admin list is where an admin sees what is pending, due or failed.
"""

from django.contrib import admin

from tutor.privacy.models import DeletionRequest


@admin.register(DeletionRequest)
class DeletionRequestAdmin(admin.ModelAdmin):
    list_display = ("pk", "username", "status", "requested_at", "due_at", "done_at", "attempts", "last_error")
    list_filter = ("status",)
    search_fields = ("username",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

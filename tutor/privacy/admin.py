"""Deletion requests in the Django admin: read-only, so the record of a deletion cannot be edited or removed.

Requests are made and cancelled on the privacy pages (``/privacy/``); the
admin list is where an admin sees what is pending, due or failed.
"""

from django.contrib import admin

from tutor.audit.admin import ReadOnlyAdmin
from tutor.privacy.models import DeletionRequest


@admin.register(DeletionRequest)
class DeletionRequestAdmin(ReadOnlyAdmin):
    list_display = ("pk", "username", "status", "requested_at", "due_at", "done_at", "attempts", "last_error")
    list_filter = ("status",)
    search_fields = ("username",)

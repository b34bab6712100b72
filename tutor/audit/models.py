"""The audit log: who viewed or exported whose data, who changed roles, who
published a curriculum or promoted a model.

Append-only. Rows are written by ``audit_record()`` and never updated; the
model refuses ``save()`` on an existing row and ``delete()``. It never stores
message contents: ``detail`` holds ids, names and counts only.

Actor and subject are kept as foreign keys for joins *and* as usernames
copied at write time, so a row still reads sensibly after a user is deleted
(privacy deletion sets the keys to NULL and replaces the copied subject name
with a pseudonym; see ``tutor/audit/privacy.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk ``update()`` and ``delete()`` are refused too, not only the model's own ``save``/``delete``.

    (Deleting a user still sets ``actor``/``subject`` to NULL: Django's collector
    does that with a plain SQL update, which is the one change allowed.)
    """

    def update(self, **kwargs):
        raise ValueError("audit events are append-only: rows cannot be updated")

    def delete(self):
        raise ValueError("audit events are append-only: rows cannot be deleted")


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "Viewed data"
        EXPORT = "export", "Exported data"
        DELETE_REQUEST = "delete_request", "Requested deletion"
        DELETE_CANCEL = "delete_cancel", "Cancelled deletion"
        DELETE_DONE = "delete_done", "Deleted data"
        ROLE_CHANGE = "role_change", "Changed a role"
        CURRICULUM_PUBLISH = "curriculum_publish", "Published a curriculum"
        MODEL_PROMOTE = "model_promote", "Promoted a model"
        RATE_LIMITED = "rate_limited", "Hit a rate limit"
        RETENTION_PURGE = "retention_purge", "Purged old transcripts"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)  # "" for the system (beat tasks)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_name = models.CharField(max_length=150, blank=True)
    object_type = models.CharField(max_length=64, blank=True)  # e.g. "transcript", "curriculum", "model"
    object_id = models.CharField(max_length=128, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # ids and counts only, never message text
    ip = models.GenericIPAddressField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject", "-at"]), models.Index(fields=["actor", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action} {self.subject_name}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_privacy_anonymise", False):
            raise ValueError("audit events are append-only: an existing row cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit events are append-only: a row cannot be deleted")

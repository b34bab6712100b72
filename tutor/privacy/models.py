"""Deletion requests: the one record of "forget this user", kept after the user is gone.

A request is made by the user or by an adult who may act for them
(``permissions.can_manage_privacy_of``); it waits ``PRIVACY_DELETION_COOL_OFF_DAYS``
(``due_at``) so a mistaken or malicious request can be cancelled, then
``deletion_run`` removes or anonymises every row of the user in one
transaction. When done, the request itself forgets the user: ``user`` is NULL
(SET_NULL) and ``username`` holds the pseudonym (``deleted-user-<id>``) that
the anonymised audit events carry too, so an auditor can tie the events of a
deletion together without learning who it was.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class DeletionRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending (cool-off)"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="deletion_requests"
    )
    username = models.CharField(max_length=150, help_text="The user's name until done, then the pseudonym.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="When the cool-off ends and the deletion may run.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows deleted or anonymised per table.")
    attempts = models.PositiveIntegerField(default=0, help_text="Times a run started (a failed run rolls back).")
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="pending"), name="one_pending_deletion_per_user"
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"deletion of {self.username} ({self.status}, due {self.due_at:%Y-%m-%d %H:%M})"

    @property
    def pseudonym(self) -> str:
        return f"deleted-user-{self.pk}"

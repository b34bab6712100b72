"""Which tutor model is live: an append-only history of promotions; the newest row is live."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ModelPromotion(models.Model):
    """One "promote to live" decision. Rows are never edited or deleted, so the history shows who chose what.

    ``model_name`` is a registry name (``tutor.tutormodels.catalog``); new
    tutoring sessions record the live name when they start
    (``TutorSession.tutor_model``) and keep it.
    """

    model_name = models.CharField(max_length=100)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-promoted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model_name} live since {self.promoted_at:%Y-%m-%d %H:%M}"

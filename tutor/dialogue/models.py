"""Tutoring sessions and their messages.

Messages are the source of truth for a conversation. Each one has a
per-session sequence number (``seq``); a student message is stored *before*
the tutor works on it, and the pair (session, client_id) is unique, so a
message the browser sends twice is stored once. A tutor message points at
the student message it answers (``reply_to``, unique), which makes a turn
idempotent: running it twice cannot produce two replies.
"""

from django.conf import settings
from django.db import models


class TutorSession(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DONE = "done", "Done"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tutor_sessions")
    problem = models.ForeignKey("curricula.Problem", on_delete=models.PROTECT, related_name="sessions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    subproblem_index = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0, help_text="Wrong answers on the current subproblem.")
    hints_given = models.PositiveIntegerField(default=0, help_text="Hints given on the current subproblem.")
    help_requests = models.PositiveIntegerField(
        default=0, help_text="Hint and solution requests on the current subproblem (the escalation policy counts them)."
    )
    last_seq = models.PositiveIntegerField(default=0, help_text="Highest seq assigned in this session.")
    tutor_model = models.CharField(
        max_length=100, blank=True, default="", help_text="The live tutor model when it started (a registry name)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["student", "problem", "status"])]

    def __str__(self) -> str:
        return f"session {self.pk} ({self.student} on {self.problem})"

    @property
    def group_name(self) -> str:
        """The channel-layer group every socket on this session listens to."""
        return f"session.{self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        STUDENT = "student", "Student"
        TUTOR = "tutor", "Tutor"

    class Kind(models.TextChoices):
        ANSWER = "answer", "Answer or question"
        HINT_REQUEST = "hint_request", "Hint request"
        TUTOR = "tutor", "Tutor turn"

    session = models.ForeignKey(TutorSession, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField()
    # NULL for tutor messages: NULLs never collide in the unique (session, client_id) key.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    reply_to = models.OneToOneField("self", null=True, blank=True, on_delete=models.CASCADE, related_name="reply")
    # The CLASS turn record of a tutor message (evaluation, action, state, ...).
    record = models.JSONField(default=dict, blank=True)
    # How many times a worker has started this student message's turn.
    turn_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="unique_message_seq"),
            models.UniqueConstraint(fields=["session", "client_id"], name="unique_message_client_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.role}: {self.text[:40]}"

"""What teachers write back from the coaching reports.

- ``TurnFlag``: a teacher marks a tutor turn as wrong, with a reason. Flags are
  training data for the tutor model's next round (``coaching.selectors.turn_flags_for_training``),
  so they keep the message and the record it had when it was flagged.
- ``MisconceptionSuggestion``: a cluster of unmatched wrong answers that a
  teacher proposes as a new authored misconception. Curricula are imported
  whole and only admins publish them, so a teacher's click stores a *pending*
  suggestion; an admin reviews it (Django admin) and folds it into the next
  curriculum version. Nothing changes the curriculum behind the admin's back.
"""

from django.conf import settings
from django.db import models


class TurnFlag(models.Model):
    message = models.ForeignKey("dialogue.Message", on_delete=models.CASCADE, related_name="coaching_flags")
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    reason = models.TextField()
    record = models.JSONField(default=dict, help_text="The turn's CLASS record when it was flagged.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["message", "flagged_by"], name="one_flag_per_turn_per_teacher")]

    def __str__(self) -> str:
        return f"flag on message {self.message_id}: {self.reason[:40]}"


class MisconceptionSuggestion(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending an admin's review"
        PUBLISHED = "published", "Published in a curriculum version"
        DISMISSED = "dismissed", "Dismissed"

    subproblem = models.ForeignKey("curricula.Subproblem", on_delete=models.CASCADE, related_name="suggestions")
    answer = models.CharField(max_length=200, help_text="The representative wrong answer of the cluster.")
    examples = models.JSONField(default=list, help_text="Every answer in the cluster, as the students typed it.")
    students = models.PositiveIntegerField(default=0)
    feedback = models.TextField(blank=True, help_text="The teacher's proposed feedback, if any.")
    suggested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subproblem", "answer"],
                condition=models.Q(status="pending"),
                name="one_pending_suggestion_per_answer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.answer!r} on {self.subproblem} ({self.status})"


# --- Pre-aggregated dashboard tables (issue 9, item 7) ----------------------------------------------------
#
# Why keyed by (student, curriculum slug) and not by class: a class's data *is*
# its students' activity in the class's curricula matched by slug
# (``coaching.selectors``), so per-class rows would only copy the same numbers
# once per class a student is in, and a student joining a class would need a
# rebuild. A class's dashboard filters these rows by its students and slug.
# All of them are rebuilt together, from source, by
# ``coaching.actions.coaching_aggregates_refresh`` (idempotent): they are a
# cache of the naive selectors, never a source of truth.


class StudentSummary(models.Model):
    """One row per (student, curriculum slug): the needs-attention inputs, and the lock a refresh takes.

    ``solutions`` lists every bottom-out solution turn as ``[iso time, problem
    title, session id]`` (at most one per step, so it stays short); the
    dashboard keeps those within ``RECENT_DAYS`` at read time, so the window
    slides without a refresh. ``last_active`` is the student's latest message
    or item answer in this curriculum.
    """

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    curriculum_slug = models.CharField(max_length=80)
    last_active = models.DateTimeField(null=True)
    solutions = models.JSONField(default=list)
    fast_hints = models.PositiveIntegerField(default=0)
    fast_hint_session_id = models.PositiveIntegerField(null=True)
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "curriculum_slug"], name="one_summary_per_slug")]

    def __str__(self) -> str:
        return f"summary of student {self.student_id} in {self.curriculum_slug}"


class ConceptAggregate(models.Model):
    """A heatmap cell: mastery (from the latest version's state) and the evidence count, only where evidence exists."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    curriculum_slug = models.CharField(max_length=80)
    concept = models.CharField(max_length=100)
    mastery = models.FloatField(null=True)
    evidence = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "curriculum_slug", "concept"], name="one_concept_aggregate")
        ]

    def __str__(self) -> str:
        return f"student {self.student_id}, {self.curriculum_slug}/{self.concept}: {self.mastery} ({self.evidence})"


class DailyActivity(models.Model):
    """Student messages and item answers per local day (``TIME_ZONE``), the activity chart's input."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    curriculum_slug = models.CharField(max_length=80)
    day = models.DateField()
    messages = models.PositiveIntegerField(default=0)
    answers = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "curriculum_slug", "day"], name="one_activity_day")]
        indexes = [models.Index(fields=["curriculum_slug", "day"])]

    def __str__(self) -> str:
        return f"student {self.student_id}, {self.curriculum_slug} on {self.day}: {self.messages}/{self.answers}"


class MisconceptionAggregate(models.Model):
    """How often a student showed an authored misconception, and on which problems.

    No example turns: the dashboard and its recommendations print counts,
    students and problems only; the misconception page, which shows examples,
    reads the turns themselves.
    """

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    curriculum_slug = models.CharField(max_length=80)
    misconception = models.CharField(max_length=100)
    count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, help_text="[problem id, problem title] pairs")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "curriculum_slug", "misconception"], name="one_misconception_aggregate"
            )
        ]

    def __str__(self) -> str:
        return f"student {self.student_id}, {self.curriculum_slug}: {self.misconception} x{self.count}"

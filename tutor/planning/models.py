"""Goals and the planner's decision log.

A ``Goal`` names a concept by its *key* and its curriculum by *slug*, not by
database ids: a curriculum is never edited in place, a re-import creates the
next version with new rows, and classes move to it. Keyed by slug and key, a
goal set on version 3 is still the same goal on version 4; if the new version
dropped the concept, the goal is shown as such and the planner skips it.

A goal belongs either to a classroom (a teacher assigned it to every student
of the class, now and later) or to one student (assigned by a teacher or
chosen by the student); ``set_by`` says who. Removing a goal closes it
(``status = removed``) instead of deleting it, so the decision log's
snapshots still name goals that existed.

``PlanDecision`` is append-only: every time the agent changed a student's
plan or chose the next problem, one row with the reason in words (what the
student and the teacher read) and a JSON snapshot of the plan it acted on.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Goal(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DONE = "done", "Reached"
        REMOVED = "removed", "Removed"

    curriculum_slug = models.CharField(max_length=80, help_text="Curriculum id (slug): the same across versions.")
    concept = models.CharField(max_length=80, help_text="Concept key: stable across curriculum versions.")
    classroom = models.ForeignKey(
        "accounts.Classroom", null=True, blank=True, on_delete=models.CASCADE, related_name="goals"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="goals"
    )
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="goals_set")
    due = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(classroom__isnull=True, student__isnull=False)
                | Q(classroom__isnull=False, student__isnull=True),
                name="goal_for_a_class_or_a_student",
            ),
            models.UniqueConstraint(
                fields=["curriculum_slug", "concept", "student"],
                condition=Q(status="active", student__isnull=False),
                name="one_active_goal_per_student_concept",
            ),
            models.UniqueConstraint(
                fields=["curriculum_slug", "concept", "classroom"],
                condition=Q(status="active", classroom__isnull=False),
                name="one_active_goal_per_class_concept",
            ),
        ]
        indexes = [models.Index(fields=["curriculum_slug", "status"])]

    def __str__(self) -> str:
        whom = self.classroom or self.student
        return f"{self.concept} for {whom} ({self.status})"

    @property
    def is_class_goal(self) -> bool:
        return self.classroom_id is not None


class PlanDecision(models.Model):
    class Kind(models.TextChoices):
        PLAN = "plan", "Plan changed"
        NEXT_PROBLEM = "next_problem", "Next problem"
        GOAL_REACHED = "goal_reached", "Goal reached"
        NO_PLAN = "no_plan", "No plan possible"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_decisions")
    curriculum = models.ForeignKey("curricula.Curriculum", on_delete=models.CASCADE, related_name="plan_decisions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    concept = models.CharField(max_length=80, blank=True, help_text="The concept the decision is about.")
    problem = models.ForeignKey(
        "curricula.Problem", null=True, blank=True, on_delete=models.SET_NULL, related_name="plan_decisions"
    )
    session = models.ForeignKey(
        "dialogue.TutorSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plan_decisions",
        help_text="The finished session that triggered the decision, if one did.",
    )
    reason = models.TextField()
    plan = models.JSONField(default=dict, blank=True, help_text="Snapshot of the plan the decision acted on.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["student", "curriculum", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.student} {self.kind}: {self.reason[:60]}"

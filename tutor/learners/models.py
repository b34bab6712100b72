"""What Tutorgraph knows about each learner, per curriculum version.

``LearnerModelState`` is the current mastery state (the counters the mastery
model needs, see ``models.mastery.LearnerState``); ``MasteryEvent`` is the
append-only history: one row per piece of evidence, with the mastery it left,
so progress can be plotted and the state rebuilt by replaying it.
"""

from django.conf import settings
from django.db import models


class LearnerModelState(models.Model):
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learner_states")
    curriculum = models.ForeignKey("curricula.Curriculum", on_delete=models.CASCADE, related_name="learner_states")
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "curriculum"], name="unique_learner_state")]

    def __str__(self) -> str:
        return f"{self.student} on {self.curriculum}"


class MasteryEvent(models.Model):
    class Kind(models.TextChoices):
        ITEM = "item", "Assessment item"
        SUBPROBLEM = "subproblem", "Tutored subproblem"
        HINT = "hint", "Hint request"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mastery_events")
    curriculum = models.ForeignKey("curricula.Curriculum", on_delete=models.CASCADE, related_name="mastery_events")
    concept = models.CharField(max_length=80, help_text="Concept key: stable across curriculum versions.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    correct = models.BooleanField()
    weight = models.FloatField(default=1.0)
    mastery = models.FloatField(help_text="The concept's mastery after this evidence.")
    message = models.ForeignKey("dialogue.Message", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["student", "curriculum", "concept", "created_at"])]

    def __str__(self) -> str:
        return f"{self.student} {self.concept} {'+' if self.correct else '-'} -> {self.mastery:.2f}"

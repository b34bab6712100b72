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


class ItemCalibration(models.Model):
    """One version of a curriculum's fitted item parameters; never edited, a refit adds the next version.

    ``responses_hash`` is the SHA-256 of the response set it was fitted on
    (``calibration.responses_digest``): a rerun on the same data finds the same
    hash and stores nothing, which is what makes the beat task idempotent.
    ``params`` holds ``{item_key: {"a", "b", "c", "se_a", "se_b"}}`` for the
    items that had enough responses; the others keep their authored values.
    """

    curriculum = models.ForeignKey("curricula.Curriculum", on_delete=models.CASCADE, related_name="calibrations")
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=8, help_text="1pl, 2pl or 3pl")
    params = models.JSONField(default=dict)
    responses = models.PositiveIntegerField(help_text="Responses the fit used.")
    persons = models.PositiveIntegerField(default=0)
    responses_hash = models.CharField(max_length=64)
    loglik = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["curriculum", "version"], name="unique_calibration_version")]
        ordering = ["curriculum", "-version"]

    def __str__(self) -> str:
        return f"{self.curriculum} items v{self.version} ({self.model})"


class Ability(models.Model):
    """A student's current theta on one curriculum version: EAP and posterior SD over scored item responses.

    ``log_posterior`` is the unnormalised log-posterior on the 61-point grid
    (``calibration.GRID``), so the next response is one O(61) addition instead
    of a pass over the history. It is valid for ``calibration`` only (None: the
    authored parameters); when a newer version exists it is rebuilt from the
    stored responses. The history of theta is on ``ItemResponse`` (theta and
    se after each response).
    """

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="abilities")
    curriculum = models.ForeignKey("curricula.Curriculum", on_delete=models.CASCADE, related_name="abilities")
    theta = models.FloatField(default=0.0)
    se = models.FloatField(default=1.0)
    n_responses = models.PositiveIntegerField(default=0, help_text="Responses to items with usable parameters.")
    log_posterior = models.JSONField(default=list, blank=True)
    calibration = models.ForeignKey(ItemCalibration, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "curriculum"], name="unique_ability")]
        verbose_name_plural = "abilities"

    def __str__(self) -> str:
        return f"{self.student} on {self.curriculum}: {self.theta:+.2f} ± {self.se:.2f}"


class PlacementTest(models.Model):
    """One sitting of the adaptive placement test.

    ``current_item`` is the item on screen: an answer counts only for it, so a
    resubmitted form (back button, double click) is recognised and not stored
    twice. ``theta``/``se`` are this test's own estimate (its responses only,
    from the prior), which is what its stopping rule and result read.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "In progress"
        DONE = "done", "Finished"

    class Stop(models.TextChoices):
        PRECISE = "se", "Precise enough"
        MAX_ITEMS = "max_items", "Question limit reached"
        NO_ITEMS = "no_items", "No questions left"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="placement_tests")
    curriculum = models.ForeignKey("curricula.Curriculum", on_delete=models.CASCADE, related_name="placement_tests")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    current_item = models.ForeignKey("curricula.Item", null=True, blank=True, on_delete=models.SET_NULL)
    n_items = models.PositiveIntegerField(default=0)
    theta = models.FloatField(default=0.0)
    se = models.FloatField(default=1.0)
    stop_reason = models.CharField(max_length=12, choices=Stop.choices, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "curriculum"],
                condition=models.Q(status="active"),
                name="one_active_placement_test",
            )
        ]
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"placement of {self.student} on {self.curriculum} ({self.status})"


class ItemResponse(models.Model):
    """One answer to an assessment item: the data calibration fits and ability is estimated from.

    ``theta``/``se`` are the student's ability right after this response (None
    if the item had no usable parameters), so the rows are also the ability
    history a progress plot reads.
    """

    class Source(models.TextChoices):
        PLACEMENT = "placement", "Placement test"
        PRACTICE = "practice", "Practice"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="item_responses")
    curriculum = models.ForeignKey("curricula.Curriculum", on_delete=models.CASCADE, related_name="item_responses")
    item = models.ForeignKey("curricula.Item", on_delete=models.CASCADE, related_name="responses")
    correct = models.BooleanField()
    source = models.CharField(max_length=12, choices=Source.choices)
    placement = models.ForeignKey(
        PlacementTest, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses"
    )
    answer = models.TextField(blank=True)
    theta = models.FloatField(null=True, blank=True)
    se = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["placement", "item"], name="one_answer_per_item_per_placement"),
        ]
        indexes = [
            models.Index(fields=["student", "curriculum", "created_at"]),
            models.Index(fields=["curriculum", "item"]),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.item} {'+' if self.correct else '-'}"

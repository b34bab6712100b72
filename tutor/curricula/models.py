"""Curricula: concepts and prerequisites, passages, scaffolded problems, items.

A curriculum is imported whole from a package (``docs/curriculum-format.md``)
and never edited in place: importing the same id again creates the next
``version``. Sessions point at a problem of the version they started on, so
they are unaffected; learner progress is keyed by concept ``key`` and so
carries over between versions.

Ids from the package are stored as ``key`` (unique within a curriculum); the
database ``id`` is internal.
"""

from django.conf import settings
from django.db import models


class Curriculum(models.Model):
    slug = models.CharField(max_length=80, help_text="The package id; the same across versions.")
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=35, default="en")
    license = models.CharField(max_length=100, blank=True)
    attribution = models.TextField(blank=True)
    label = models.CharField(max_length=40, blank=True, help_text="The author's own version label.")
    max_attempts = models.PositiveIntegerField(default=3, help_text="Tries or hint requests before a solution.")
    source_format = models.CharField(max_length=20, default="tutorgraph")
    sha256 = models.CharField(max_length=64, blank=True, help_text="Hash of the normalised package.")
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["slug", "version"], name="unique_curriculum_version")]
        ordering = ["title", "-version"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Concept(models.Model):
    curriculum = models.ForeignKey(Curriculum, on_delete=models.CASCADE, related_name="concepts")
    key = models.CharField(max_length=80)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    difficulty = models.FloatField(null=True, blank=True, help_text="Prior IRT difficulty (logits).")
    standard = models.CharField(max_length=64, blank=True)
    related = models.JSONField(default=list, blank=True, help_text="Keys of related (non-prerequisite) concepts.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["curriculum", "key"], name="unique_concept_key")]
        ordering = ["curriculum", "key"]

    def __str__(self) -> str:
        return self.name


class Prerequisite(models.Model):
    """``requires`` is a prerequisite of ``concept``.

    ``group`` is None for an AND prerequisite, or the index of the ``any_of``
    group it belongs to (one member of each group suffices).
    """

    concept = models.ForeignKey(Concept, on_delete=models.CASCADE, related_name="prerequisite_links")
    requires = models.ForeignKey(Concept, on_delete=models.CASCADE, related_name="dependent_links")
    group = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["concept", "requires", "group"], name="unique_prerequisite"),
        ]

    def __str__(self) -> str:
        return f"{self.requires.key} -> {self.concept.key}"


class Passage(models.Model):
    curriculum = models.ForeignKey(Curriculum, on_delete=models.CASCADE, related_name="passages")
    key = models.CharField(max_length=80)
    text = models.TextField()
    source = models.TextField(blank=True)
    concepts = models.ManyToManyField(Concept, related_name="passages")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["curriculum", "key"], name="unique_passage_key")]

    def __str__(self) -> str:
        return self.key


class PassageEmbedding(models.Model):
    """A passage's dense vector for retrieval, computed once at import.

    ``text_sha256`` is the hash of the exact text embedded (passage text plus
    concept names), so a changed text or model is re-embedded and nothing else.
    """

    passage = models.OneToOneField(Passage, on_delete=models.CASCADE, related_name="embedding")
    model_name = models.CharField(max_length=120)
    text_sha256 = models.CharField(max_length=64)
    vector = models.BinaryField(help_text="float32, little-endian")

    def __str__(self) -> str:
        return f"embedding of {self.passage}"


class Problem(models.Model):
    curriculum = models.ForeignKey(Curriculum, on_delete=models.CASCADE, related_name="problems")
    key = models.CharField(max_length=80)
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    statement = models.TextField(help_text="$...$ is rendered as math.")
    facts = models.JSONField(default=list, blank=True)
    answer = models.JSONField(help_text="Typed answer spec; never sent to the browser.")
    solution = models.TextField()
    concepts = models.ManyToManyField(Concept, related_name="problems")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["curriculum", "key"], name="unique_problem_key")]
        ordering = ["curriculum", "position"]

    def __str__(self) -> str:
        return self.title


class Subproblem(models.Model):
    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="subproblems")
    position = models.PositiveIntegerField()
    question = models.TextField()
    answer = models.JSONField(help_text="Typed answer spec; never sent to the browser.")
    hints = models.JSONField(default=list, help_text="Hint ladder, least revealing first.")
    misconceptions = models.JSONField(default=list, help_text='[{"id", "answer", "feedback"}]')
    solution = models.TextField(help_text="Shown only when the escalation policy allows.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["problem", "position"], name="unique_subproblem_position")]
        ordering = ["problem", "position"]

    def __str__(self) -> str:
        return f"{self.problem} / {self.position + 1}"


class Item(models.Model):
    """An assessment item for IRT, with optional known 3PL parameters."""

    curriculum = models.ForeignKey(Curriculum, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=80)
    position = models.PositiveIntegerField()
    question = models.TextField()
    answer = models.JSONField()
    irt_a = models.FloatField(null=True, blank=True)
    irt_b = models.FloatField(null=True, blank=True)
    irt_c = models.FloatField(null=True, blank=True)
    concepts = models.ManyToManyField(Concept, related_name="items")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["curriculum", "key"], name="unique_item_key")]
        ordering = ["curriculum", "position"]

    def __str__(self) -> str:
        return self.key


class CurriculumUpload(models.Model):
    """An uploaded package awaiting review: validated first, published on request."""

    class Status(models.TextChoices):
        INVALID = "invalid", "Invalid"
        VALID = "valid", "Valid, not yet published"
        PUBLISHED = "published", "Published"

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    filename = models.CharField(max_length=255)
    source_format = models.CharField(max_length=20)
    package = models.JSONField(null=True, blank=True, help_text="The parsed package, when it could be read.")
    issues = models.JSONField(default=list, help_text="Every validation issue: [{path, message, code}].")
    summary = models.JSONField(default=dict)
    break_cycles = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices)
    curriculum = models.ForeignKey(Curriculum, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

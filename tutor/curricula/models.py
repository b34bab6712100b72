"""Curricula, problems and their CLASS-style subproblems.

A curriculum is imported as a whole, at a version; its problems are broken
into subproblems, each with an answer key, a ladder of hints and the typical
incorrect answers (misconceptions) with their feedback, as in CLASS. The
full package format grows in ``importer.py``; these tables are what a tutor
turn reads.
"""

from django.db import models


class Curriculum(models.Model):
    slug = models.SlugField(max_length=80)
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["slug", "version"], name="unique_curriculum_version")]
        ordering = ["title", "-version"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Problem(models.Model):
    curriculum = models.ForeignKey(Curriculum, on_delete=models.CASCADE, related_name="problems")
    slug = models.SlugField(max_length=80)
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    statement = models.TextField(help_text="Markdown-free text; $...$ is rendered as math.")
    concept = models.CharField(max_length=64, blank=True, help_text="Knowledge-graph concept id, e.g. 5.NF.A.1")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["curriculum", "slug"], name="unique_problem_slug")]
        ordering = ["curriculum", "position"]

    def __str__(self) -> str:
        return self.title


class Subproblem(models.Model):
    class AnswerKind(models.TextChoices):
        NUMBER = "number", "Number"
        CHOICE = "choice", "Choice"
        TEXT = "text", "Text"

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="subproblems")
    position = models.PositiveIntegerField()
    prompt = models.TextField()
    answer_kind = models.CharField(max_length=16, choices=AnswerKind.choices)
    answer = models.CharField(max_length=200, help_text="The answer key; never sent to the browser.")
    tolerance = models.FloatField(default=1e-9)
    choices = models.JSONField(default=list, blank=True, help_text="Options for choice answers.")
    hints = models.JSONField(default=list, help_text="Hint ladder, gentlest first.")
    misconceptions = models.JSONField(default=list, help_text='[{"id", "answer", "feedback"}]')
    solution = models.TextField(help_text="Worked solution, shown only when the escalation policy allows.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["problem", "position"], name="unique_subproblem_position")]
        ordering = ["problem", "position"]

    def __str__(self) -> str:
        return f"{self.problem} / {self.position + 1}"

"""Self-regulated learning: study sessions and one append-only event log.

For readers of this data (the coaching reports, ``tutor/coaching/``):

- ``StudySession`` is one forethought-performance-reflection cycle
  (Zimmerman 2002). It holds the *current* state of the cycle: the goal text
  and its SMART check, the goal's concepts, planned minutes, strategy,
  confidence (self-efficacy 1-5), when it started and ended, the reflection.
  A study session covers the student's tutoring turns (``dialogue.Message``)
  sent between ``started_at`` and ``ended_at``; there is no foreign key to
  tutoring sessions, so the dialogue app knows nothing of SRL.
- ``SrlEvent`` is the append-only log of everything that happened: goal
  checks, goal set, check-ins (with confidence, correctness, the IRT
  prediction), disengagement prompts, reflections (with depth), XP grants
  with their reason, badges. XP, level and badges are *derived* from it
  (``selectors.game_state``), so replaying the log rebuilds them exactly.
  ``key`` makes each fact idempotent: a turn, a check-in or a badge is
  recorded once however often the page polls.

Event kinds and their ``data``:

| kind | data |
|---|---|
| goal_check | text, specific, measurable, time_bound, follow_up |
| goal_set | text, concepts, target, minutes, strategy, confidence |
| turn | message (tutor message id), tutor_session, evaluation, subproblem (XP in ``xp``) |
| checkin | message, confidence, correct, predicted, feedback |
| prompt | signal (rapid_guessing / hint_abuse / idle), message (the turn that triggered it) |
| break | minutes |
| reflection | depth, strategy, effort, ability, change |
| goal_met | target, solved |
| mastery_gain | gain (fraction) |
| comeback | message |
| badge | badge id |
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StudySession(models.Model):
    class Status(models.TextChoices):
        PLANNING = "planning", "Setting a goal"
        ACTIVE = "active", "Studying"
        REFLECTING = "reflecting", "Reflecting"
        DONE = "done", "Done"

    class Strategy(models.TextChoices):
        WORKED_EXAMPLES = "worked_examples", "Study worked examples"
        PRACTICE = "practice", "Practise problems"
        REVIEW = "review", "Review what I know"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_sessions")
    curriculum = models.ForeignKey("curricula.Curriculum", on_delete=models.CASCADE, related_name="study_sessions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNING)
    goal_text = models.TextField(blank=True)
    goal_smart = models.BooleanField(default=False, help_text="The goal passed the SMART check.")
    goal_target = models.PositiveIntegerField(null=True, blank=True, help_text="How many the goal names.")
    goal_unit = models.CharField(max_length=8, default="problem", help_text="What goal_target counts: problem or step.")
    concepts = models.JSONField(default=list, help_text="Concept keys of the goal (from the student's plan).")
    planned_minutes = models.PositiveIntegerField(default=20)
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.PRACTICE)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Self-efficacy 1-5.")
    mastery_before = models.JSONField(default=dict, help_text="Mastery of the goal's concepts at the start.")
    mastery_after = models.JSONField(default=dict, help_text="Mastery of the goal's concepts at the end.")
    reflection = models.JSONField(default=dict, blank=True, help_text="worked, hard, change (the student's words).")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["student", "status"])]

    def __str__(self) -> str:
        return f"study session {self.pk} of {self.student} ({self.status})"


class SrlEvent(models.Model):
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="srl_events")
    study_session = models.ForeignKey(
        StudySession, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=16)
    key = models.CharField(max_length=80, help_text="Idempotency key, unique per student (e.g. turn:<message id>).")
    xp = models.IntegerField(default=0, help_text="XP granted by this event (0 for most).")
    reason = models.CharField(max_length=160, blank=True, help_text="Why this XP (or none), in the student's words.")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["student", "key"], name="unique_srl_event_key")]
        indexes = [models.Index(fields=["student", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.student} {self.kind} {self.key} +{self.xp}"


class ClassGameSetting(models.Model):
    """A teacher's switches for one class: the game (default on) and the leaderboard (default off).

    With the game off, the class's students still plan, check in and reflect,
    but see no XP, level, streak or badges (a teacher may judge that
    comparison or points hurt some learners). Events keep being logged, so
    switching it back on shows the full history.

    The leaderboard is off unless the teacher turns it on, because public
    comparison can hurt weaker students (``docs/gamification.md``); even when
    it is on, only students who opted in (``LeaderboardOptIn``) are listed.
    """

    classroom = models.OneToOneField("accounts.Classroom", on_delete=models.CASCADE, related_name="srl_game")
    game_on = models.BooleanField(default=True)
    leaderboard_on = models.BooleanField(default=False, help_text="Show the class's opt-in weekly leaderboard.")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"game {'on' if self.game_on else 'off'} in {self.classroom}"


class LeaderboardOptIn(models.Model):
    """A student's choice to appear on one class's leaderboard (no row: not listed).

    Per class, because a student may be comfortable being compared in one
    group and not in another. Deleting the row is opting out.
    """

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leaderboard_opt_ins")
    classroom = models.ForeignKey("accounts.Classroom", on_delete=models.CASCADE, related_name="leaderboard_opt_ins")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "classroom"], name="unique_leaderboard_opt_in"),
        ]

    def __str__(self) -> str:
        return f"{self.student} on the leaderboard of {self.classroom}"

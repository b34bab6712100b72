"""Every write of the SRL app. Each is atomic; each fact is one ``SrlEvent`` with an idempotency key.

- ``study_session_start``: open (or resume) a study session: forethought begins.
- ``goal_quality_check``: SMART-check a goal; vague goals get a follow-up question and stay drafts.
- ``srl_sync``: read the tutoring turns of the session window; grant turn XP, log comebacks and prompts.
- ``checkin_record``: "How sure are you?" after a subproblem; calibration feedback.
- ``study_session_finish``: end the performance phase: goal met, mastery gain.
- ``reflection_submit``: the reflection and its depth feedback; the cycle is done.
- ``xp_award``: the one place an event (with its XP) is written.
- ``class_game_set``, ``class_leaderboard_set``: a teacher's per-class switches.
- ``leaderboard_opt_set``: a student's choice to appear on a class's leaderboard.

The tutoring data is read, never written: the dialogue app knows nothing of
SRL (see ``models.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from tutor.accounts.models import User
from tutor.curricula.models import Curriculum
from tutor.dialogue.models import Message
from tutor.srl import rules
from tutor.srl.models import ClassGameSetting, LeaderboardOptIn, SrlEvent, StudySession
from tutor.srl.selectors import (
    badge_counts,
    badges_stored,
    concept_names,
    goal_progress,
    mastery_of,
    predicted_success,
    session_turns,
)

log = logging.getLogger(__name__)

OPEN = (StudySession.Status.PLANNING, StudySession.Status.ACTIVE, StudySession.Status.REFLECTING)


class SrlError(ValueError):
    """A request the SRL cycle cannot accept; the message is for the student."""


def xp_award(
    *,
    student: User,
    key: str,
    kind: str,
    xp: int = 0,
    reason: str = "",
    data: dict | None = None,
    study: StudySession | None = None,
) -> tuple[SrlEvent, bool]:
    """Append one event (with its XP) unless an event with ``key`` exists. Returns (event, created).

    The unique (student, key) constraint makes every grant idempotent, so a
    page that polls or a request that is retried can never pay twice. The
    INSERT is tried first (in a savepoint) and the existing row read only
    when it fails: new events are the common case (``srl_sync`` skips the
    keys it already stored), so a grant costs one statement, not two.
    """
    try:
        with transaction.atomic():
            event = SrlEvent.objects.create(
                student=student, study_session=study, key=key, kind=kind, xp=xp, reason=reason[:160], data=data or {}
            )
    except IntegrityError:  # stored before (a retry, a second poll or a concurrent request)
        return SrlEvent.objects.get(student=student, key=key), False
    return event, True


def badges_update(student: User, study: StudySession | None = None) -> list[str]:
    """Store any badge the event log now justifies (``rules.badges_earned``); returns the new ones.

    Runs on every sync, so it first reads which badges are stored: a student
    who has them all costs one query, and a stored badge is never looked up
    again (badges are append-only events, never taken back).
    """
    stored = badges_stored(student)
    if stored >= set(rules.BADGES):
        return []
    new = []
    for badge in rules.badges_earned(*badge_counts(student)):
        if badge in stored:
            continue
        if xp_award(student=student, key=f"badge:{badge}", kind="badge", data={"badge": badge}, study=study)[1]:
            new.append(badge)
    return new


def study_session_start(*, student: User, curriculum: Curriculum) -> StudySession:
    """The student's open study session on ``curriculum``, or a new one in the planning phase."""
    with transaction.atomic():
        open_one = StudySession.objects.filter(student=student, curriculum=curriculum, status__in=OPEN).first()
        if open_one is not None:
            return open_one
        return StudySession.objects.create(student=student, curriculum=curriculum)


@dataclass(frozen=True)
class GoalInput:
    text: str
    concepts: list[str]
    minutes: int
    strategy: str
    confidence: int


def goal_quality_check(study: StudySession, goal: GoalInput) -> rules.GoalCheck:
    """Check the goal (SMART, ``rules.goal_quality``); accept it and start the session only when it passes.

    Every check is logged (``goal_check``), so the reports can see how many
    drafts a student needed. A vague goal changes nothing but the draft
    text: the student answers the follow-up question and tries again.
    """
    if study.status != StudySession.Status.PLANNING:
        raise SrlError("This session already has its goal.")
    names = concept_names(study.curriculum)
    concepts = [c for c in goal.concepts if c in names]
    if not concepts:
        raise SrlError("Choose at least one concept from your plan.")
    if goal.strategy not in StudySession.Strategy.values:
        raise SrlError("Choose a strategy.")
    if not 1 <= goal.confidence <= 5:
        raise SrlError("Rate your confidence from 1 to 5.")
    if not 5 <= goal.minutes <= 120:
        raise SrlError("Plan between 5 and 120 minutes.")
    text = goal.text.strip()[:500]
    check = rules.goal_quality(text, [names[c] for c in concepts])
    now = timezone.now()
    with transaction.atomic():
        locked = StudySession.objects.select_for_update().get(pk=study.pk)
        if locked.status != StudySession.Status.PLANNING:
            raise SrlError("This session already has its goal.")
        xp_award(
            student=study.student,
            study=study,
            key=f"goal_check:{study.pk}:{now.timestamp()}",
            kind="goal_check",
            data={
                "text": text,
                "specific": check.specific,
                "measurable": check.measurable,
                "time_bound": check.time_bound,
                "follow_up": check.follow_up,
            },
        )
        study.goal_text, study.concepts = text, concepts
        study.planned_minutes, study.strategy, study.confidence = goal.minutes, goal.strategy, goal.confidence
        fields = ["goal_text", "concepts", "planned_minutes", "strategy", "confidence"]
        if check.accepted:
            study.goal_smart, study.goal_target, study.goal_unit = True, check.target, check.unit
            study.status, study.started_at = StudySession.Status.ACTIVE, now
            study.mastery_before = mastery_of(study.student, study.curriculum, concepts)
            fields += ["goal_smart", "goal_target", "goal_unit", "status", "started_at", "mastery_before"]
            xp_award(
                student=study.student,
                study=study,
                key=f"goal_set:{study.pk}",
                kind="goal_set",
                xp=rules.XP_GOAL_SMART,
                reason="a SMART goal",
                data={
                    "text": text,
                    "concepts": concepts,
                    "target": check.target,
                    "unit": check.unit,
                    "minutes": goal.minutes,
                    "strategy": goal.strategy,
                    "confidence": goal.confidence,
                },
            )
        study.save(update_fields=fields)
        if check.accepted:
            badges_update(study.student, study)
    return check


def srl_sync(study: StudySession, now=None) -> list[str]:
    """Bring the event log up to date with the session's tutoring turns; return current disengagement signals.

    For each tutoring session in the window, the turns are scored by
    ``rules.turn_grants`` over the *whole* tutoring session (so a step's
    earlier hints and guesses count), and each turn inside the window is
    stored once as a ``turn`` event with its XP and reason. Comebacks and
    prompts are logged once per triggering message. Cheap when nothing is
    new: one query for the turns, one for the keys already stored. Badges
    are re-checked only when a comeback was stored: turns and prompts feed
    no badge, so a poll does not pay for the badge counts
    (``bench/srl_events.py``).
    """
    if study.started_at is None:
        return []
    now = now or timezone.now()
    student = study.student
    signals: list[str] = []
    comebacks = 0
    stored = set(
        SrlEvent.objects.filter(student=student, study_session=study, kind="turn").values_list("key", flat=True)
    )
    for tutoring in session_turns(study):
        grants = rules.turn_grants(tutoring.turns, tutoring.solved_before)
        for i, (turn, grant, message_id) in enumerate(zip(tutoring.turns, grants, tutoring.message_ids, strict=True)):
            if not tutoring.in_window[i] or f"turn:{message_id}" in stored:
                continue
            with transaction.atomic():
                xp_award(
                    student=student,
                    study=study,
                    key=f"turn:{message_id}",
                    kind="turn",
                    xp=grant.xp,
                    reason=grant.reason,
                    data={
                        "message": message_id,
                        "tutor_session": tutoring.session_id,
                        "evaluation": turn.evaluation,
                        "subproblem": turn.subproblem,
                        "state": turn.state,
                    },
                )
                if not tutoring.solved_before and rules.is_comeback(tutoring.turns, i):
                    comebacks += xp_award(
                        student=student, study=study, key=f"comeback:{message_id}", kind="comeback", data={}
                    )[1]
        window = [t for t, inside in zip(tutoring.turns, tutoring.in_window, strict=True) if inside]
        found = rules.disengagement(window, now.timestamp(), done=tutoring.done)
        for signal in found:
            anchor = tutoring.message_ids[-1]
            xp_award(
                student=student,
                study=study,
                key=f"prompt:{signal}:{anchor}",
                kind="prompt",
                data={"signal": signal, "message": anchor, "tutor_session": tutoring.session_id},
            )
        signals.extend(s for s in found if s not in signals)
    if comebacks:  # the only badge-bearing event a sync writes; goals, check-ins, reflections update their own
        badges_update(student, study)
    return signals


def checkin_record(study: StudySession, *, message_id: int, confidence: int) -> SrlEvent:
    """Store a check-in on the subproblem the tutor message ``message_id`` closed, with calibration feedback.

    Only a tutor message of the student's own tutoring, inside the session
    window, that ended a subproblem (state y or z) can be checked in on;
    anything else is refused, so ids reveal nothing. Correct means the
    student solved the step (evaluation b), not that the solution was shown.
    """
    if study.status != StudySession.Status.ACTIVE:
        raise SrlError("Check-ins happen during a study session.")
    if not 1 <= confidence <= 5:
        raise SrlError("Rate how sure you are from 1 to 5.")
    message = (
        Message.objects.filter(
            pk=message_id,
            role=Message.Role.TUTOR,
            session__student=study.student,
            created_at__gte=study.started_at,
            record__subproblem_state__in=["y", "z"],
        )
        .select_related("session__problem")
        .first()
    )
    if message is None:
        raise SrlError("There is no finished step to check in on.")
    correct = message.record.get("evaluation") == "b"
    predicted = predicted_success(study.student, message.session.problem)
    feedback = rules.calibration_feedback(confidence, correct, predicted)
    with transaction.atomic():
        event, _ = xp_award(
            student=study.student,
            study=study,
            key=f"checkin:{message_id}",
            kind="checkin",
            xp=rules.XP_CHECKIN,
            reason="you checked how sure you were",
            data={
                "message": message_id,
                "confidence": confidence,
                "correct": correct,
                "predicted": predicted,
                "feedback": feedback,
            },
        )
        badges_update(study.student, study)
    return event


def study_session_finish(study: StudySession) -> StudySession:
    """End the performance phase: final sync, goal met or not, mastery gain on the goal's concepts."""
    if study.status != StudySession.Status.ACTIVE:
        raise SrlError("This session is not running.")
    srl_sync(study)
    with transaction.atomic():
        study = StudySession.objects.select_for_update().get(pk=study.pk)
        if study.status != StudySession.Status.ACTIVE:
            raise SrlError("This session is not running.")
        study.status, study.ended_at = StudySession.Status.REFLECTING, timezone.now()
        study.mastery_after = mastery_of(study.student, study.curriculum, study.concepts)
        study.save(update_fields=["status", "ended_at", "mastery_after"])
        progress = goal_progress(study)
        if progress["met"]:
            xp_award(
                student=study.student,
                study=study,
                key=f"goal_met:{study.pk}",
                kind="goal_met",
                xp=rules.XP_GOAL_MET,
                reason="you met your goal",
                data={"target": progress["target"], "solved": progress["solved"]},
            )
        gain = sum(study.mastery_after.get(c, 0) - study.mastery_before.get(c, 0) for c in study.concepts)
        gain /= max(len(study.concepts), 1)
        xp = rules.mastery_xp(gain)
        if xp:
            xp_award(
                student=study.student,
                study=study,
                key=f"mastery_gain:{study.pk}",
                kind="mastery_gain",
                xp=xp,
                reason="your mastery of the goal's concepts grew",
                data={"gain": round(gain, 3)},
            )
    return study


def reflection_submit(study: StudySession, *, worked: str, hard: str, change: str) -> rules.Depth:
    """Store the reflection, score its depth (``rules.reflection_depth``), pay XP per depth point; done."""
    if study.status != StudySession.Status.REFLECTING:
        raise SrlError("Finish the session before you reflect.")
    worked, hard, change = (s.strip()[:1000] for s in (worked, hard, change))
    if not (worked or hard or change):
        raise SrlError("Write at least one answer.")
    depth = rules.reflection_depth(worked, hard, change)
    with transaction.atomic():
        study = StudySession.objects.select_for_update().get(pk=study.pk)
        if study.status != StudySession.Status.REFLECTING:
            raise SrlError("Finish the session before you reflect.")
        study.reflection = {"worked": worked, "hard": hard, "change": change}
        study.status = StudySession.Status.DONE
        study.save(update_fields=["reflection", "status"])
        xp_award(
            student=study.student,
            study=study,
            key=f"reflection:{study.pk}",
            kind="reflection",
            xp=rules.XP_PER_DEPTH * depth.score,
            reason=f"a reflection of depth {depth.score} of 3",
            data={
                "depth": depth.score,
                "strategy": depth.strategy,
                "effort": depth.effort,
                "ability": depth.ability,
                "change": depth.change,
                "feedback": depth.feedback,
            },
        )
        badges_update(study.student, study)
    return depth


def class_game_set(*, by: User, classroom, game_on: bool) -> ClassGameSetting:
    """Switch the game on or off for a class (the caller checks that ``by`` may manage the class)."""
    with transaction.atomic():
        setting, _ = ClassGameSetting.objects.select_for_update().get_or_create(classroom=classroom)
        setting.game_on, setting.updated_by = game_on, by
        setting.save(update_fields=["game_on", "updated_by", "updated_at"])
    return setting


def class_leaderboard_set(*, by: User, classroom, leaderboard_on: bool) -> ClassGameSetting:
    """Switch the class's weekly leaderboard on or off (the caller checks that ``by`` may manage the class).

    A separate switch from the game, off by default: a teacher may want
    points and badges without any comparison between students. Switching it
    on lists nobody by itself; students still have to opt in.
    """
    with transaction.atomic():
        setting, _ = ClassGameSetting.objects.select_for_update().get_or_create(classroom=classroom)
        setting.leaderboard_on, setting.updated_by = leaderboard_on, by
        setting.save(update_fields=["leaderboard_on", "updated_by", "updated_at"])
    return setting


def leaderboard_opt_set(*, student: User, classroom, opt_in: bool) -> bool:
    """Put ``student`` on (or take them off) ``classroom``'s leaderboard; returns the new choice.

    Only the student decides, and only for a class they are enrolled in: the
    comparison is something a student chooses, never a default (see
    ``docs/gamification.md``). Idempotent, so a double submit changes nothing.
    """
    if not classroom.students.filter(pk=student.pk).exists():
        raise SrlError("You are not in this class.")
    if opt_in:
        LeaderboardOptIn.objects.get_or_create(student=student, classroom=classroom)
    else:
        LeaderboardOptIn.objects.filter(student=student, classroom=classroom).delete()
    return opt_in

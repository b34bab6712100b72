"""Reads of the SRL app: the tutoring turns of a study session, progress, the game state, summaries, metrics.

Nothing here writes. ``game_state`` derives XP, level, streak and badges from
the event log alone, which is what makes the log replayable.
``srl_metrics`` is the read the coaching reports use. ``leaderboards_for``
is the only read that shows one student's XP to another, and only between
students who opted in.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Case, Count, DateField, F, Func, Min, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from tutor.accounts.models import User
from tutor.curricula.models import Curriculum, Problem
from tutor.dialogue.models import Message, TutorSession
from tutor.srl import rules
from tutor.srl.models import SrlEvent, StudySession

# A study session left running covers at most this many hours of tutoring (an abandoned tab does not
# swallow next week's work).
MAX_OPEN_HOURS = 4


def concept_names(curriculum: Curriculum) -> dict[str, str]:
    from tutor.planning.facts import curriculum_facts

    return dict(curriculum_facts(curriculum).names)


def mastery_of(student: User, curriculum: Curriculum, concepts: list[str]) -> dict[str, float]:
    """Mastery (0..1) of ``concepts`` now, from the learner model."""
    from tutor.planning.facts import student_facts

    return {k: round(v, 4) for k, v in student_facts(student, curriculum, concepts).mastery.items()}


def predicted_success(student: User, problem: Problem) -> float | None:
    """The IRT-predicted P(success) on ``problem``: 1PL at the student's theta, as the planner predicts it.

    Theta is the IRT ability when the student has one, else the mastery-based
    theta of ``planning.selection.effective_theta``; difficulty is the
    problem's (hardest concept's). None when the problem has no concept.
    """
    from tutor.planning.facts import curriculum_facts, student_facts
    from tutor.planning.selection import effective_theta

    facts = curriculum_facts(problem.curriculum)
    concepts = facts.problem_concepts.get(problem.pk, ())
    if not concepts:
        return None
    concept = max(concepts, key=lambda k: facts.difficulty.get(k) or 0.0)
    theta, _ = effective_theta(concept, facts, student_facts(student, problem.curriculum, [concept]))
    b = facts.problem_difficulty(problem.pk, facts.difficulty.get(concept) or 0.0)
    return round(1.0 / (1.0 + math.exp(-(theta - b))), 3)


@dataclass
class TutoringTurns:
    """One tutoring session's turns as ``rules.Turn``, with the tutor message id of each and the window flag."""

    session_id: int
    problem: str
    done: bool
    solved_before: bool
    turns: list[rules.Turn] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    in_window: list[bool] = field(default_factory=list)


def session_turns(study: StudySession) -> list[TutoringTurns]:
    """The student's tutoring sessions with a turn inside the study session's window, every turn of each.

    Response time (``wait_s``) is the time from the tutor's previous message
    to the student's; the tutor message stores the record the rules read.
    """
    start = study.started_at
    end = study.ended_at or min(timezone.now(), start + timedelta(hours=MAX_OPEN_HOURS))
    sessions = list(
        TutorSession.objects.filter(
            student=study.student,
            problem__curriculum__slug=study.curriculum.slug,
            messages__role=Message.Role.STUDENT,
            messages__created_at__gte=start,
            messages__created_at__lte=end,
        )
        .select_related("problem")
        .distinct()
        .order_by("created_at")
    )
    out = []
    for s in sessions:
        solved_before = TutorSession.objects.filter(
            student=study.student,
            problem__key=s.problem.key,
            problem__curriculum__slug=study.curriculum.slug,
            status=TutorSession.Status.DONE,
            finished_at__lt=s.created_at,
        ).exists()
        item = TutoringTurns(s.pk, s.problem.key, s.status == TutorSession.Status.DONE, solved_before)
        last_tutor_at = None
        pending: dict[int, Message] = {}
        for m in s.messages.order_by("seq"):
            if m.role == Message.Role.STUDENT:
                m.wait_s = (m.created_at - last_tutor_at).total_seconds() if last_tutor_at else 60.0
                pending[m.pk] = m
                continue
            last_tutor_at = m.created_at
            asked = pending.pop(m.reply_to_id, None) if m.reply_to_id else None
            if asked is None:
                continue
            r = m.record or {}
            item.turns.append(
                rules.Turn(
                    at=asked.created_at.timestamp(),
                    wait_s=asked.wait_s,
                    kind=asked.kind,
                    evaluation=r.get("evaluation", "d"),
                    action=int(r.get("action", 12)),
                    state=r.get("subproblem_state", "x"),
                    subproblem=str(r.get("subproblem", "")),
                )
            )
            item.message_ids.append(m.pk)
            item.in_window.append(start <= asked.created_at <= end)
        out.append(item)
    return out


def goal_progress(study: StudySession) -> dict:
    """Problems (or steps) the student solved in the window against the goal's target.

    A step counts when the student solved it (evaluation b ending the step);
    a problem counts when the student solved its last step (state z). A goal
    without a count (a percentage) needs one problem. Met when solved >= target.
    """
    states = ["z"] if study.goal_unit == "problem" else ["y", "z"]
    solved = SrlEvent.objects.filter(
        study_session=study, kind="turn", data__evaluation="b", data__state__in=states
    ).count()
    target = study.goal_target or 1
    return {
        "solved": solved,
        "target": target,
        "unit": study.goal_unit,
        "met": solved >= target,
        "pct": min(100, round(100 * solved / target)),
    }


def latest_checkin_due(study: StudySession) -> dict | None:
    """The newest tutor message in the window that ended a step and has no check-in yet ("How sure are you?")."""
    if study.started_at is None:
        return None
    done = set(SrlEvent.objects.filter(study_session=study, kind="checkin").values_list("data__message", flat=True))
    message = (
        Message.objects.filter(
            role=Message.Role.TUTOR,
            session__student=study.student,
            session__problem__curriculum__slug=study.curriculum.slug,
            created_at__gte=study.started_at,
            record__subproblem_state__in=["y", "z"],
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if message is None or message.pk in done:
        return None
    return {"message": message.pk, "step": message.record.get("subproblem", "")}


def _checkins(events) -> list[tuple[int, bool]]:
    """(confidence, correct) of the check-in events in ``events``."""
    return [(d["confidence"], bool(d["correct"])) for d in events.filter(kind="checkin").values_list("data", flat=True)]


def badge_counts(student: User) -> tuple[int, int, list[tuple[int, bool]], int]:
    """What ``rules.badges_earned`` reads, from the event log: SMART goals, reflections, check-ins, comebacks."""
    events = SrlEvent.objects.filter(student=student).order_by()
    counts = events.aggregate(
        smart=Count("pk", filter=Q(kind="goal_set")),
        reflections=Count("pk", filter=Q(kind="reflection")),
        comebacks=Count("pk", filter=Q(kind="comeback")),
    )
    checkins = [
        (d["confidence"], bool(d["correct"])) for d in events.filter(kind="checkin").values_list("data", flat=True)
    ]
    return counts["smart"], counts["reflections"], checkins, counts["comebacks"]


def badges_stored(student: User) -> set[str]:
    """The badge ids already in the student's log (badges are never taken back)."""
    keys = SrlEvent.objects.filter(student=student, kind="badge").values_list("key", flat=True)
    return {k.removeprefix("badge:") for k in keys}


# Events that make a day a study day (with a turn that earned XP): effort, not a page view.
EFFORT_KINDS = ("goal_set", "checkin", "reflection")


@dataclass(frozen=True)
class GameState:
    xp: int
    level: int
    level_start: int
    next_level: int
    streak: rules.Streak
    badges: list[str]

    @property
    def level_pct(self) -> int:
        return round(100 * (self.xp - self.level_start) / max(self.next_level - self.level_start, 1))


def game_from_events(events: list[tuple[str, int, dict, date]], today: date) -> GameState:
    """XP, level, streak and badges from a list of (kind, xp, data, local date) events: the replay.

    A study day is a day with a goal set, a check-in, a reflection or a
    step solved: effort, not a page view.
    """
    xp = sum(x for _, x, _, _ in events)
    level, start, nxt = rules.level_of(xp)
    active = {d for kind, x, _, d in events if kind in EFFORT_KINDS or (kind == "turn" and x)}
    badges = [d["badge"] for kind, _, d, _ in events if kind == "badge"]
    return GameState(xp, level, start, nxt, rules.streak(active, today), badges)


def _local_day():
    """The local date of ``created_at`` as a database expression.

    ``TruncDate`` on SQLite calls back into Python once per row, which was
    most of a poll's cost; with the site on UTC (``settings.TIME_ZONE``) the
    local date is SQLite's own ``date()``. Other time zones and PostgreSQL
    keep ``TruncDate`` (native there).
    """
    if connection.vendor == "sqlite" and timezone.get_current_timezone_name() == "UTC":
        return Func(F("created_at"), function="date", output_field=DateField())
    return TruncDate("created_at")


def _game_groups(student_id: int):
    """The log of one student grouped by local day and badge: (day, badge key or "", XP, effort events, first pk).

    A badge event is its own group, every other event falls in its day's.
    """
    effort = Q(kind__in=EFFORT_KINDS) | (Q(kind="turn") & ~Q(xp=0))
    return (
        SrlEvent.objects.filter(student_id=student_id)
        .order_by()
        .annotate(day=_local_day(), badge=Case(When(kind="badge", then=F("key")), default=Value("")))
        .values("day", "badge")
        .annotate(day_xp=Sum("xp"), effort_events=Count("pk", filter=effort), first=Min("pk"))
        .values_list("day", "badge", "day_xp", "effort_events", "first")
    )


_STUDENT_SENTINEL = -7_340_021  # stands for the student id while the SQL is compiled once


@functools.lru_cache(maxsize=8)
def _game_sql(vendor: str, tzname: str) -> tuple[str, tuple, int]:
    """``_game_groups``'s SQL, its parameters and where the student id goes, compiled once per database and zone.

    Building and compiling that queryset took about 0.7 ms, half of a poll's
    XP update (``bench/srl_events.py``); the SQL depends only on the
    database and the time zone, so it is compiled once and executed with
    the student's id.
    """
    sql, params = _game_groups(_STUDENT_SENTINEL).query.sql_with_params()
    return sql, tuple(params), list(params).index(_STUDENT_SENTINEL)


def game_state(student: User) -> GameState:
    """``game_from_events`` over the student's log, computed in the database in one grouped query.

    The same derivation as the replay, with no stored total to drift: the
    groups of ``_game_groups`` sum to the XP, a day with an effort event is
    a study day of the streak, and the badge groups, in log order, are the
    badges. Reading whole rows (JSON ``data``, a datetime per event) made
    the chat panel's poll grow with the student's history; this stays nearly
    flat and is a single round trip (``bench/srl_events.py``). A test checks
    it against the replay.
    """
    sql, params, at = _game_sql(connection.vendor, timezone.get_current_timezone_name())
    params = params[:at] + (student.pk,) + params[at + 1 :]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        groups = cursor.fetchall()
    xp, active, badges = 0, set(), []
    for day, badge, day_xp, effort_events, first in groups:
        xp += day_xp or 0
        if effort_events:  # SQLite returns the day as text, PostgreSQL as a date
            active.add(day if isinstance(day, date) else date.fromisoformat(str(day)))
        if badge:  # the key is "badge:<id>" (``actions.badges_update``): no JSON to decode
            badges.append((first, badge.removeprefix("badge:")))
    level, start, nxt = rules.level_of(xp)
    today = timezone.localdate()
    return GameState(xp, level, start, nxt, rules.streak(active, today), [b for _, b in sorted(badges)])


def xp_total(student: User) -> int:
    return SrlEvent.objects.filter(student=student).aggregate(total=Sum("xp"))["total"] or 0


def session_summary(study: StudySession) -> dict:
    """Goal met, mastery changes per concept, time on task, calibration, XP earned, prompts."""
    names = concept_names(study.curriculum)
    events = SrlEvent.objects.filter(study_session=study)
    checkins = [
        (d["confidence"], bool(d["correct"])) for d in events.filter(kind="checkin").values_list("data", flat=True)
    ]
    minutes = None
    if study.started_at and study.ended_at:
        minutes = round((study.ended_at - study.started_at).total_seconds() / 60, 1)
    reflection = events.filter(kind="reflection").first()
    return {
        "progress": goal_progress(study),
        "mastery": [
            {
                "name": names.get(c, c),
                "before": round(100 * study.mastery_before.get(c, 0)),
                "after": round(100 * study.mastery_after.get(c, study.mastery_before.get(c, 0))),
            }
            for c in study.concepts
        ],
        "minutes": minutes,
        "planned_minutes": study.planned_minutes,
        "checkins": len(checkins),
        "calibration_error": rules.calibration_error(checkins),
        "xp": events.aggregate(total=Sum("xp"))["total"] or 0,
        "prompts": events.filter(kind="prompt").count(),
        "reflection": reflection.data if reflection else None,
    }


def active_study(student: User, curriculum_slug: str) -> StudySession | None:
    return (
        StudySession.objects.filter(
            student=student, curriculum__slug=curriculum_slug, status=StudySession.Status.ACTIVE
        )
        .select_related("curriculum", "student")
        .first()
    )


def quests(student: User, curriculum: Curriculum) -> list[dict]:
    """The student's plan cut into quests (``rules.quest_segments``), each with its concepts' mastery.

    Reads the last logged plan snapshot (``PlanDecision``), so it never re-plans.
    """
    from tutor.planning.models import PlanDecision
    from tutor.planning.paths import TAU

    last = (
        PlanDecision.objects.filter(student=student, curriculum__slug=curriculum.slug, kind=PlanDecision.Kind.PLAN)
        .order_by("-created_at", "-pk")
        .first()
    )
    steps = list(last.plan.get("steps", [])) if last is not None else []
    if not steps:
        return []
    names = concept_names(curriculum)
    mastery = mastery_of(student, curriculum, steps)
    out = []
    for n, segment in enumerate(rules.quest_segments(steps), start=1):
        done = sum(1 for c in segment if mastery.get(c, 0) >= TAU)
        out.append(
            {
                "n": n,
                "concepts": [names.get(c, c) for c in segment],
                "done": done,
                "size": len(segment),
                "complete": done == len(segment),
            }
        )
    return out


def srl_metrics(student: User) -> dict:
    """SRL metrics for the coaching reports: goals set and met, reflection depth, calibration error, prompts."""
    events = SrlEvent.objects.filter(student=student)
    depths = [d.get("depth", 0) for d in events.filter(kind="reflection").values_list("data", flat=True)]
    checkins = [
        (d["confidence"], bool(d["correct"])) for d in events.filter(kind="checkin").values_list("data", flat=True)
    ]
    prompts: dict[str, int] = {}
    for d in events.filter(kind="prompt").values_list("data", flat=True):
        prompts[d["signal"]] = prompts.get(d["signal"], 0) + 1
    return {
        "goals_checked": events.filter(kind="goal_check").count(),
        "goals_set": events.filter(kind="goal_set").count(),
        "goals_met": events.filter(kind="goal_met").count(),
        "reflections": len(depths),
        "mean_reflection_depth": round(sum(depths) / len(depths), 2) if depths else None,
        "calibration_error": rules.calibration_error(checkins),
        "disengagement": prompts,
        "xp": xp_total(student),
    }


def game_on_for(student: User) -> bool:
    """The game is shown unless one of the student's classes switched it off."""
    from tutor.srl.models import ClassGameSetting

    return not ClassGameSetting.objects.filter(classroom__students=student, game_on=False).exists()


def class_srl_rows(classroom) -> list[dict]:
    """Each student of the class with their SRL metrics (the teacher's page)."""
    rows = []
    for s in classroom.students.order_by("last_name", "first_name", "username"):
        metrics = srl_metrics(s)
        words = [f"{signal.replace('_', ' ')} {n}" for signal, n in sorted(metrics["disengagement"].items())]
        rows.append({"student": s, **metrics, "prompts_text": ", ".join(words) or "none"})
    return rows


def week_start(today: date | None = None) -> datetime:
    """Monday 00:00 (the site's time zone) of ``today``'s ISO week: when the leaderboard resets."""
    today = today or timezone.localdate()
    return timezone.make_aware(datetime.combine(today - timedelta(days=today.weekday()), time.min))


def weekly_xp(student_ids: list[int], since: datetime) -> dict[int, int]:
    """XP each student earned since ``since`` (every student in ``student_ids`` gets a value, 0 by default).

    XP is the events' ``xp``, so only the effort-based rules of
    ``rules.turn_grants`` and friends count; one grouped query.
    """
    totals = dict.fromkeys(student_ids, 0)
    rows = (
        SrlEvent.objects.filter(student_id__in=student_ids, created_at__gte=since)
        .values("student_id")
        .annotate(total=Sum("xp"))
        .values_list("student_id", "total")
    )
    totals.update({sid: total or 0 for sid, total in rows})
    return totals


@dataclass(frozen=True)
class Leaderboard:
    """One class's weekly leaderboard as ``viewer`` may see it.

    ``rows`` is empty unless the viewer opted in: a student who stays off the
    board sees only their own weekly XP (``own_xp``), never anyone else's.
    """

    classroom: object
    opted_in: bool
    own_xp: int
    own_rank: int | None
    rows: list[dict]
    since: datetime


def class_leaderboard(classroom, viewer: User, today: date | None = None) -> Leaderboard:
    """The opted-in students of ``classroom`` ranked by XP earned this week (ties share a rank)."""
    from tutor.srl.models import LeaderboardOptIn

    since = week_start(today)
    opted = set(LeaderboardOptIn.objects.filter(classroom=classroom).values_list("student_id", flat=True))
    opted &= set(classroom.students.values_list("pk", flat=True))  # a student who left the class drops off
    opted_in = viewer.pk in opted
    if not opted_in:
        own = weekly_xp([viewer.pk], since)[viewer.pk]
        return Leaderboard(classroom, False, own, None, [], since)
    totals = weekly_xp(sorted(opted), since)
    users = {u.pk: u for u in User.objects.filter(pk__in=opted)}
    order = sorted(opted, key=lambda pk: (-totals[pk], users[pk].get_full_name() or users[pk].username))
    rows, rank = [], 0
    for i, pk in enumerate(order):
        if i == 0 or totals[pk] != totals[order[i - 1]]:
            rank = i + 1
        u = users[pk]
        rows.append({"rank": rank, "name": u.get_full_name() or u.username, "xp": totals[pk], "me": pk == viewer.pk})
    own_rank = next(r["rank"] for r in rows if r["me"])
    return Leaderboard(classroom, True, totals[viewer.pk], own_rank, rows, since)


def leaderboards_for(student: User, today: date | None = None) -> list[Leaderboard]:
    """The leaderboards of the student's classes whose teacher switched both the game and the leaderboard on.

    Nothing when the game is off in any of the student's classes: XP is then
    hidden from the student, so no board may show it either.
    """
    from tutor.accounts.models import Classroom

    if not game_on_for(student):
        return []
    classes = Classroom.objects.filter(
        students=student, srl_game__leaderboard_on=True, srl_game__game_on=True
    ).order_by("name")
    return [class_leaderboard(c, student, today) for c in classes]

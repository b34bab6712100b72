"""Reads for the coaching reports: every number a teacher sees, and the rows behind it.

Why selectors and not view code: each report (dashboard, misconceptions,
recommendations, drill-down) cites its evidence, and the same evidence feeds
several reports, so the reads live here, are tested here, and never write.

Scope of a class's data: its students' activity in *any version* of the
class's curricula (a re-import moves the class, not what its students did),
matched by curriculum slug and concept key, which are stable across versions.

Thresholds (documented in ``docs/coaching.md``):

- ``MASTERED`` (0.8, the progress page's ``knowledge_graph.mastery.DEFAULT_TAU``):
  a concept counts as mastered at or above it;
- ``WEAK`` (0.5): below it a concept with evidence is weak;
- a student is *inactive* after ``INACTIVE_DAYS`` without a message or item answer;
- *stuck* is ``STUCK_SOLUTIONS`` or more bottom-out solutions (CLASS actions 2, 5, 9)
  in the last ``RECENT_DAYS``;
- *gaming* is ``GAMING_HINTS`` or more hint requests each within ``GAMING_SECONDS``
  of the previous hint request in the same session (hint abuse, Baker et al. 2004).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Count, Max, Q
from django.utils import timezone

from knowledge_graph.mastery import DEFAULT_TAU
from models.mastery import LearnerState
from tutor.accounts.models import Classroom, User
from tutor.agents.record import ACTIONS, EVALUATIONS, SOLUTION_ACTIONS, STATES
from tutor.curricula.models import Concept, Curriculum, Prerequisite, Subproblem
from tutor.dialogue.models import Message, TutorSession
from tutor.learners.actions import mastery_model, stored_state
from tutor.learners.models import Ability, ItemResponse, LearnerModelState, MasteryEvent
from tutor.planning.selectors import class_goals

MASTERED = DEFAULT_TAU
WEAK = 0.5
INACTIVE_DAYS = 7
RECENT_DAYS = 14
STUCK_SOLUTIONS = 2
GAMING_HINTS = 3
GAMING_SECONDS = 10
ACTIVITY_DAYS = 28
MAX_EXAMPLES = 3


def band(mastery: float | None) -> str:
    """The heatmap's text label for a cell: readable without colour (the cell also carries a pattern)."""
    if mastery is None:
        return "no evidence"
    if mastery >= MASTERED:
        return "mastered"
    if mastery >= WEAK:
        return "developing"
    return "weak"


def student_name(student: User) -> str:
    return student.get_full_name() or student.username


def class_curriculum(classroom: Classroom, curriculum_id: int | None = None) -> Curriculum | None:
    """The curriculum a report is about: the one asked for (if the class uses it), else the class's first by title."""
    curricula = classroom.curricula.order_by("title", "-version")
    if curriculum_id is not None:
        return curricula.filter(pk=curriculum_id).first()
    return curricula.first()


def class_students(classroom: Classroom) -> list[User]:
    return list(classroom.students.order_by("last_name", "first_name", "username"))


# --- Mastery -------------------------------------------------------------------------------------------


@dataclass
class Mastery:
    """Mastery per (student, concept) with the evidence count behind each value."""

    concepts: list[Concept]
    value: dict[tuple[int, str], float | None] = field(default_factory=dict)
    evidence: dict[tuple[int, str], int] = field(default_factory=dict)

    def of(self, student_id: int, concept: str) -> float | None:
        return self.value.get((student_id, concept))


def class_mastery(students: list[User], curriculum: Curriculum) -> Mastery:
    """Each student's mastery of each concept; ``None`` where the student has no evidence on it.

    A concept without evidence has only the model's prior (or what graph
    propagation inferred from neighbours); the heatmap shows it as "no evidence"
    rather than as a number a teacher could mistake for a measurement.
    """
    concepts = list(curriculum.concepts.order_by("key"))
    ids = [s.pk for s in students]
    states: dict[int, LearnerState] = {}
    rows = LearnerModelState.objects.filter(student_id__in=ids, curriculum__slug=curriculum.slug)
    for row in rows.select_related("curriculum").order_by("curriculum__version"):
        states[row.student_id] = stored_state(row)  # the latest version wins
    counts = (
        MasteryEvent.objects.filter(student_id__in=ids, curriculum__slug=curriculum.slug)
        .values("student_id", "concept")
        .annotate(n=Count("pk"))
    )
    result = Mastery(concepts)
    for row in counts:
        result.evidence[(row["student_id"], row["concept"])] = row["n"]
    model = mastery_model()
    for student in students:
        state = states.get(student.pk)
        for concept in concepts:
            seen = result.evidence.get((student.pk, concept.key), 0) > 0
            result.value[(student.pk, concept.key)] = (
                model.mastery(state, concept.key) if seen and state is not None else None
            )
    return result


def heatmap(students: list[User], mastery: Mastery) -> dict:
    """Rows of the students x concepts heatmap, each cell with its value, percent, band and evidence count."""
    rows = []
    for student in students:
        cells, seen = [], []
        for concept in mastery.concepts:
            m = mastery.of(student.pk, concept.key)
            n = mastery.evidence.get((student.pk, concept.key), 0)
            cells.append(
                {
                    "concept": concept,
                    "mastery": m,
                    "pct": None if m is None else round(100 * m),
                    "band": band(m),
                    "n": n,
                }
            )
            if m is not None:
                seen.append(m)
        mean = sum(seen) / len(seen) if seen else None
        rows.append({"student": student, "cells": cells, "mean_pct": None if mean is None else round(100 * mean)})
    return {"concepts": mastery.concepts, "rows": rows}


# --- Ability, goals, activity --------------------------------------------------------------------------


def ability_rows(students: list[User], curriculum: Curriculum) -> list[dict]:
    """theta ± SE per student (latest version of the curriculum they have one in); None without responses."""
    latest: dict[int, Ability] = {}
    rows = Ability.objects.filter(student__in=students, curriculum__slug=curriculum.slug)
    for ability in rows.order_by("curriculum__version"):
        latest[ability.student_id] = ability
    out = []
    for student in students:
        a = latest.get(student.pk)
        out.append(
            {
                "student": student,
                "name": student_name(student),
                "theta": None if a is None else round(a.theta, 2),
                "se": None if a is None else round(a.se, 2),
                "n": 0 if a is None else a.n_responses,
            }
        )
    return out


def goal_progress(classroom: Classroom, students: list[User], curriculum: Curriculum, mastery: Mastery) -> list[dict]:
    """For each active goal in this curriculum: who has mastered its concept and who has not yet."""
    names = {c.key: c.name for c in mastery.concepts}
    by_id = {s.pk: s for s in students}
    out = []
    for goal in class_goals(classroom):
        if goal.curriculum_slug != curriculum.slug:
            continue
        if goal.classroom_id is None and goal.student_id not in by_id:
            continue
        who = students if goal.classroom_id else [by_id[goal.student_id]]
        done = [s for s in who if (mastery.of(s.pk, goal.concept) or 0) >= MASTERED]
        out.append(
            {
                "goal": goal,
                "concept": names.get(goal.concept, goal.concept),
                "scope": "whole class" if goal.classroom_id else student_name(by_id[goal.student_id]),
                "done": len(done),
                "total": len(who),
                "pct": round(100 * len(done) / len(who)) if who else 0,
                "not_yet": [student_name(s) for s in who if s not in done],
            }
        )
    return out


def class_sessions(students: list[User], curriculum: Curriculum):
    """The ids of these students' sessions in any version of the curriculum, as a subquery.

    Messages are filtered by session id (indexed through the unique key on
    session + seq) instead of joining each message to its problem and curriculum.
    """
    return TutorSession.objects.filter(student__in=students, problem__curriculum__slug=curriculum.slug).values("pk")


def activity_by_day(students: list[User], curriculum: Curriculum, days: int = ACTIVITY_DAYS) -> list[dict]:
    """Student messages and item answers per local day over the last ``days`` days (zero days included).

    One conditional count per day in a single SQL pass: grouping by a date
    function would call a Python function per row on SQLite (TruncDate), which
    costs most of the dashboard's time on a busy class.
    """
    today = timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    bounds = [
        timezone.make_aware(dt.datetime.combine(start + dt.timedelta(days=i), dt.time.min)) for i in range(days + 1)
    ]

    def per_day(qs) -> dict[str, int]:
        counts = {
            f"d{i}": Count("pk", filter=Q(created_at__gte=bounds[i], created_at__lt=bounds[i + 1])) for i in range(days)
        }
        return qs.filter(created_at__gte=bounds[0], created_at__lt=bounds[-1]).aggregate(**counts)

    msg = per_day(
        Message.objects.filter(role=Message.Role.STUDENT, session_id__in=class_sessions(students, curriculum))
    )
    ans = per_day(ItemResponse.objects.filter(student__in=students, curriculum__slug=curriculum.slug))
    return [
        {
            "day": (start + dt.timedelta(days=i)).isoformat(),
            "messages": msg[f"d{i}"] or 0,
            "answers": ans[f"d{i}"] or 0,
        }
        for i in range(days)
    ]


# --- Turns: the CLASS records of the class's sessions --------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """A tutor turn with the student message it answered."""

    student_id: int
    session_id: int
    problem_id: int
    problem_title: str
    seq: int
    student_text: str
    record: dict
    created_at: dt.datetime
    kind: str


def _has(key: str) -> Q:
    """The record has ``key`` with a non-null value (SQL-side, so unneeded turns are never loaded)."""
    return Q(**{f"record__{key}__isnull": False}) & ~Q(**{f"record__{key}": None})


# The turns the dashboard reads: a matched misconception, a bottom-out solution, or an answer to a hint request.
DASHBOARD_TURNS = (
    _has("misconception") | Q(record__action__in=sorted(SOLUTION_ACTIONS)) | Q(reply_to__kind="hint_request")
)
# The turns the misconception page reads: a matched misconception or an incorrect answer.
MISCONCEPTION_TURNS = _has("misconception") | Q(record__evaluation="a")


def class_turns(students: list[User], curriculum: Curriculum, where: Q | None = None) -> list[Turn]:
    """Tutor replies to these students' messages in this curriculum (those matching ``where``), oldest first.

    Read as tuples, not model instances, and filtered in SQL: a class with
    50,000 responses has that many turns, and the reports need only a fraction.
    """
    qs = Message.objects.filter(
        role=Message.Role.TUTOR, reply_to__isnull=False, session_id__in=class_sessions(students, curriculum)
    )
    if where is not None:
        qs = qs.filter(where)
    rows = qs.order_by("created_at", "pk").values_list(
        "session__student_id",
        "session_id",
        "session__problem_id",
        "session__problem__title",
        "reply_to__seq",
        "reply_to__text",
        "record",
        "reply_to__created_at",
        "reply_to__kind",
    )
    return [
        Turn(
            student_id=student_id,
            session_id=session_id,
            problem_id=problem_id,
            problem_title=title,
            seq=seq,
            student_text=text,
            record=record or {},
            created_at=created_at,
            kind=kind,
        )
        for student_id, session_id, problem_id, title, seq, text, record, created_at, kind in rows
    ]


def needs_attention(students: list[User], curriculum: Curriculum, turns: list[Turn]) -> list[dict]:
    """Students who are stuck, inactive or gaming the hints, each with the evidence that put them on the list."""
    now = timezone.now()
    recent = now - dt.timedelta(days=RECENT_DAYS)
    last_seen: dict[int, dt.datetime] = {}
    for row in (
        Message.objects.filter(role=Message.Role.STUDENT, session__student__in=students)
        .values("session__student_id")
        .annotate(last=Max("created_at"))
    ):
        last_seen[row["session__student_id"]] = row["last"]
    for row in ItemResponse.objects.filter(student__in=students).values("student_id").annotate(last=Max("created_at")):
        if row["student_id"] not in last_seen or row["last"] > last_seen[row["student_id"]]:
            last_seen[row["student_id"]] = row["last"]
    by_student: dict[int, list[Turn]] = defaultdict(list)
    for t in turns:
        by_student[t.student_id].append(t)
    out = []
    for student in students:
        mine = by_student.get(student.pk, [])
        solutions = [t for t in mine if t.created_at >= recent and t.record.get("action") in SOLUTION_ACTIONS]
        if len(solutions) >= STUCK_SOLUTIONS:
            problems = sorted({t.problem_title for t in solutions})
            out.append(
                {
                    "student": student,
                    "reason": "stuck",
                    "evidence": f"{len(solutions)} bottom-out solutions in the last {RECENT_DAYS} days "
                    f"(on {', '.join(problems)})",
                    "session_id": solutions[-1].session_id,
                }
            )
        fast = _fast_hints(mine)
        if len(fast) >= GAMING_HINTS:
            out.append(
                {
                    "student": student,
                    "reason": "gaming",
                    "evidence": f"{len(fast)} hint requests each within {GAMING_SECONDS} s of the previous one",
                    "session_id": fast[-1].session_id,
                }
            )
        last = last_seen.get(student.pk)
        if last is None:
            out.append({"student": student, "reason": "inactive", "evidence": "no activity yet", "session_id": None})
        elif now - last > dt.timedelta(days=INACTIVE_DAYS):
            out.append(
                {
                    "student": student,
                    "reason": "inactive",
                    "evidence": f"last active {last:%Y-%m-%d}, {(now - last).days} days ago",
                    "session_id": None,
                }
            )
    return out


def _fast_hints(turns: list[Turn]) -> list[Turn]:
    """Hint requests that came within ``GAMING_SECONDS`` of the previous hint request in the same session."""
    fast, previous = [], {}
    for t in turns:
        if t.kind != Message.Kind.HINT_REQUEST:
            continue
        before = previous.get(t.session_id)
        if before is not None and (t.created_at - before).total_seconds() <= GAMING_SECONDS:
            fast.append(t)
        previous[t.session_id] = t.created_at
    return fast


def _srl_provider():
    """``tutor.srl.selectors.srl_metrics(student) -> dict`` when the SRL app is installed, else None."""
    if not apps.is_installed("tutor.srl"):
        return None
    try:
        from tutor.srl.selectors import srl_metrics as provider
    except ImportError:
        return None
    return provider


def srl_rows(students: list[User]) -> list[dict] | None:
    """Self-regulated-learning metrics per student: goals set and met, reflection depth, calibration, disengagement.

    The seam to ``tutor/srl`` (built separately): its ``srl_metrics(student)``
    computes them from the student's SRL event log (all their study sessions,
    not only this curriculum). Without the app the dashboard says so instead of
    inventing numbers (None here).
    """
    provider = _srl_provider()
    if provider is None:
        return None
    rows = []
    for student in students:
        m = provider(student)
        signals = m.get("disengagement") or {}
        rows.append(
            {
                "student": student,
                "goals_set": m.get("goals_set"),
                "goals_met": m.get("goals_met"),
                "reflections": m.get("reflections"),
                "depth": m.get("mean_reflection_depth"),
                "calibration_error": m.get("calibration_error"),
                "disengagement": ", ".join(f"{k}: {v}" for k, v in sorted(signals.items())) or "none",
            }
        )
    return rows


# --- Misconceptions ------------------------------------------------------------------------------------


def misconception_counts(students: list[User], turns: list[Turn]) -> list[dict]:
    """Authored misconceptions the tutor matched, most frequent first, with who showed them and example turns."""
    names = {s.pk: student_name(s) for s in students}
    by_id: dict[str, list[Turn]] = defaultdict(list)
    for t in turns:
        mid = t.record.get("misconception")
        if mid:
            by_id[mid].append(t)
    out = []
    for mid, ts in by_id.items():
        who = Counter(t.student_id for t in ts)
        out.append(
            {
                "id": mid,
                "count": len(ts),
                "student_ids": sorted(who),
                "students": [names[s] for s in sorted(who, key=lambda s: names[s])],
                "examples": ts[:MAX_EXAMPLES],
                "problems": sorted({t.problem_title for t in ts}),
                "problem_ids": sorted({t.problem_id for t in ts}),
            }
        )
    out.sort(key=lambda r: (-len(r["student_ids"]), -r["count"], r["id"]))
    return out


@dataclass(frozen=True)
class WrongAnswer:
    text: str
    student_id: int
    session_id: int
    seq: int
    subproblem_id: int | None


def unmatched_wrong_answers(turns: list[Turn]) -> list[WrongAnswer]:
    """Student answers the tutor judged incorrect (evaluation a) and matched to no authored misconception."""
    prompts: dict[tuple[int, str], int] = {}
    for sub in Subproblem.objects.filter(problem_id__in={t.problem_id for t in turns}).values(
        "pk", "problem_id", "question"
    ):
        prompts[(sub["problem_id"], sub["question"])] = sub["pk"]
    out = []
    for t in turns:
        if t.record.get("evaluation") == "a" and not t.record.get("misconception") and t.student_text.strip():
            out.append(
                WrongAnswer(
                    text=t.student_text.strip(),
                    student_id=t.student_id,
                    session_id=t.session_id,
                    seq=t.seq,
                    subproblem_id=prompts.get((t.problem_id, t.record.get("subproblem", ""))),
                )
            )
    return out


def wrong_answer_clusters(students: list[User], turns: list[Turn], embed=None) -> list[dict]:
    """Unmatched wrong answers grouped by subproblem, then clustered by meaning (MiniLM) within each.

    ``embed`` maps texts to unit vectors; the default is the shipped MiniLM
    (``models.embeddings``), and a model that is not installed falls back to
    exact-text groups (``clustering.cluster_texts`` documents both).
    """
    from tutor.coaching.clustering import cluster_texts

    names = {s.pk: student_name(s) for s in students}
    answers = unmatched_wrong_answers(turns)
    by_sub: dict[int | None, list[WrongAnswer]] = defaultdict(list)
    for a in answers:
        by_sub[a.subproblem_id].append(a)
    subs = {s.pk: s for s in Subproblem.objects.filter(pk__in=[k for k in by_sub if k]).select_related("problem")}
    out = []
    for sub_id, items in by_sub.items():
        for cluster in cluster_texts([a.text for a in items], embed=embed):
            members = [items[i] for i in cluster.members]
            who = sorted({a.student_id for a in members}, key=lambda s: names[s])
            out.append(
                {
                    "subproblem": subs.get(sub_id),
                    "representative": cluster.representative,
                    "answers": sorted({a.text for a in members}),
                    "size": len(members),
                    "students": [names[s] for s in who],
                    "student_ids": who,
                    "examples": members[:MAX_EXAMPLES],
                    "method": cluster.method,
                }
            )
    out.sort(key=lambda c: (-len(c["student_ids"]), -c["size"], c["representative"]))
    return out


# --- Recommendations -----------------------------------------------------------------------------------


def prerequisites_of(curriculum: Curriculum) -> dict[str, list[str]]:
    """Concept key -> the keys of its prerequisites (AND and any_of alike: a weak one is worth a look either way)."""
    out: dict[str, list[str]] = defaultdict(list)
    for concept, requires in Prerequisite.objects.filter(concept__curriculum=curriculum).values_list(
        "concept__key", "requires__key"
    ):
        out[concept].append(requires)
    return out


def recommendations(
    students: list[User], curriculum: Curriculum, mastery: Mastery, misconceptions: list[dict]
) -> list[dict]:
    """Concrete next steps, each naming students, concepts and the data behind it. Rules in docs/coaching.md."""
    names = {s.pk: student_name(s) for s in students}
    concept_names = {c.key: c.name for c in mastery.concepts}
    prereqs = prerequisites_of(curriculum)
    recs: list[dict] = []
    # 1. Small groups: a misconception shown by two or more students.
    for mc in misconceptions:
        if len(mc["student_ids"]) >= 2:
            recs.append(
                {
                    "kind": "group",
                    "title": f"Small group on the misconception “{mc['id']}”",
                    "students": mc["students"],
                    "concepts": [],
                    "evidence": f"{len(mc['student_ids'])} students showed it {mc['count']} times "
                    f"(on {', '.join(mc['problems'])})",
                    "next_step": f"Work one example of {mc['problems'][0]} with {', '.join(mc['students'])}: "
                    f"ask each to explain their step, then contrast it with the correct one.",
                }
            )
    # 2. Small groups: a weak prerequisite of a concept the students are working on.
    weak_pre: dict[str, list[int]] = defaultdict(list)
    for s in students:
        for concept, reqs in prereqs.items():
            if mastery.of(s.pk, concept) is None:
                continue
            for r in reqs:
                m = mastery.of(s.pk, r)
                if m is not None and m < WEAK and s.pk not in weak_pre[r]:
                    weak_pre[r].append(s.pk)
    for r, ids in sorted(weak_pre.items()):
        if len(ids) >= 2:
            who = [names[i] for i in ids]
            recs.append(
                {
                    "kind": "group",
                    "title": f"Small group on the prerequisite {concept_names.get(r, r)}",
                    "students": who,
                    "concepts": [concept_names.get(r, r)],
                    "evidence": "mastery below 50%: "
                    + ", ".join(f"{names[i]} {round(100 * (mastery.of(i, r) or 0))}%" for i in ids),
                    "next_step": f"Revisit {concept_names.get(r, r)} with {', '.join(who)} before the concepts "
                    "that build on it.",
                }
            )
    # 3. Whole class: a concept weak for at least half of the students with evidence (and at least two of them).
    for c in mastery.concepts:
        seen = [(s.pk, mastery.of(s.pk, c.key)) for s in students if mastery.of(s.pk, c.key) is not None]
        weak = [(i, m) for i, m in seen if m < WEAK]
        if len(weak) >= 2 and 2 * len(weak) >= len(seen):
            recs.append(
                {
                    "kind": "reteach",
                    "title": f"Re-teach {c.name} to the whole class",
                    "students": [names[i] for i, _ in weak],
                    "concepts": [c.name],
                    "evidence": f"{len(weak)} of {len(seen)} students with evidence are below 50% "
                    f"(class mean {round(100 * sum(m for _, m in seen) / len(seen))}%)",
                    "next_step": f"Open the next lesson with a worked example of {c.name} and a short check for "
                    "everyone.",
                }
            )
    # 4. Ready to move on: every practised concept mastered; name the next concept whose prerequisites they hold.
    for s in students:
        seen = {c.key: mastery.of(s.pk, c.key) for c in mastery.concepts if mastery.of(s.pk, c.key) is not None}
        if seen and all(m >= MASTERED for m in seen.values()):
            below = _ancestors(set(seen), prereqs)  # prerequisites of what they mastered are behind them
            frontier = [
                c.name
                for c in mastery.concepts
                if c.key not in seen
                and c.key not in below
                and all((mastery.of(s.pk, r) or 0) >= MASTERED for r in prereqs.get(c.key, []))
            ]
            step = f"Move on to {frontier[0]}." if frontier else "Assign an extension problem."
            recs.append(
                {
                    "kind": "ready",
                    "title": f"{names[s.pk]} is ready to move on",
                    "students": [names[s.pk]],
                    "concepts": [concept_names[k] for k in seen],
                    "evidence": "mastered: "
                    + ", ".join(f"{concept_names[k]} {round(100 * m)}%" for k, m in seen.items()),
                    "next_step": step,
                }
            )
    return recs


def _ancestors(keys: set[str], prereqs: dict[str, list[str]]) -> set[str]:
    """Every direct or indirect prerequisite of ``keys``."""
    out: set[str] = set()
    todo = list(keys)
    while todo:
        for r in prereqs.get(todo.pop(), []):
            if r not in out:
                out.add(r)
                todo.append(r)
    return out


# --- Drill-down ----------------------------------------------------------------------------------------


def mastery_history(student: User, curriculum: Curriculum) -> dict:
    """The mastery of each concept after each piece of evidence, for the drill-down's line chart and its table."""
    names = dict(Concept.objects.filter(curriculum=curriculum).values_list("key", "name"))
    series: dict[str, list[dict]] = defaultdict(list)
    rows = []
    for e in MasteryEvent.objects.filter(student=student, curriculum__slug=curriculum.slug).order_by(
        "created_at", "pk"
    ):
        point = {"t": e.created_at.isoformat(), "mastery": round(e.mastery, 3)}
        series[e.concept].append(point)
        rows.append({"event": e, "name": names.get(e.concept, e.concept)})
    return {
        "series": [{"concept": names.get(k, k), "points": v} for k, v in series.items()],
        "rows": rows,
    }


def student_sessions(student: User, curriculum: Curriculum) -> list[TutorSession]:
    return list(
        TutorSession.objects.filter(student=student, problem__curriculum__slug=curriculum.slug)
        .select_related("problem")
        .order_by("-created_at")
    )


def transcript_rows(session: TutorSession, flagged_by: User) -> list[dict]:
    """Each message of a session; tutor turns with their labels and whether this teacher flagged them."""
    from tutor.coaching.models import TurnFlag

    flags = {f.message_id: f for f in TurnFlag.objects.filter(message__session=session, flagged_by=flagged_by)}
    rows = []
    for message in session.messages.order_by("seq"):
        record = message.record if message.role == Message.Role.TUTOR else {}
        rows.append(
            {
                "message": message,
                "record": record,
                "evaluation": EVALUATIONS.get(record.get("evaluation"), ""),
                "action": ACTIONS.get(record.get("action"), ""),
                "state": STATES.get(record.get("subproblem_state"), ""),
                "flag": flags.get(message.pk),
            }
        )
    return rows


def turn_flags_for_training(since: dt.datetime | None = None) -> list[dict]:
    """The flagged turns as training examples: context, the tutor's reply and record, the teacher's reason."""
    from tutor.coaching.models import TurnFlag

    qs = TurnFlag.objects.select_related("message__reply_to", "message__session__problem")
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return [
        {
            "problem": f.message.session.problem.key,
            "student_text": f.message.reply_to.text if f.message.reply_to else "",
            "tutor_text": f.message.text,
            "record": f.record,
            "reason": f.reason,
            "flagged_at": f.created_at.isoformat(),
        }
        for f in qs.order_by("created_at", "pk")
    ]


# --- Pre-aggregated reads (issue 9, item 7) ------------------------------------------------------------
#
# The naive selectors above scan the class's messages, turns and evidence on
# every request (about 0.85 s at 40 students x 50,000 responses). The tables in
# ``coaching.models`` hold the same numbers per (student, curriculum slug),
# rebuilt from source after each commit that changes them
# (``coaching.actions.coaching_aggregates_refresh``); the readers below turn
# them into exactly the structures the naive selectors return, so the template,
# the CSV export and the tests treat both alike.


@dataclass
class StudentAggregates:
    """Everything the dashboard needs about one student in one curriculum slug, computed from source."""

    last_active: dt.datetime | None
    solutions: list[list]  # [iso time, problem title, session id], in turn order
    fast_hints: int
    fast_hint_session_id: int | None
    concepts: dict[str, tuple[float | None, int]]  # concept -> (mastery, evidence count)
    days: dict[dt.date, tuple[int, int]]  # local day -> (messages, answers)
    misconceptions: dict[str, tuple[int, list[list]]]  # id -> (count, [[problem id, title], ...])


def student_aggregates(student: User, curriculum: Curriculum) -> StudentAggregates:
    """One student's aggregate rows for ``curriculum``'s slug, read from the source tables (the naive way).

    The refresh writes exactly this; it reuses the naive selectors (``class_turns``,
    ``_fast_hints``, ``MasteryModel.mastery``) so the two paths cannot drift.
    """
    sessions = class_sessions([student], curriculum)
    messages = list(
        Message.objects.filter(role=Message.Role.STUDENT, session_id__in=sessions).values_list("created_at", flat=True)
    )
    answers = list(
        ItemResponse.objects.filter(student=student, curriculum__slug=curriculum.slug).values_list(
            "created_at", flat=True
        )
    )
    days: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    for at in messages:
        days[timezone.localdate(at)][0] += 1
    for at in answers:
        days[timezone.localdate(at)][1] += 1
    turns = class_turns([student], curriculum, DASHBOARD_TURNS)
    fast = _fast_hints(turns)
    misconceptions: dict[str, list] = {}
    for t in turns:
        mid = t.record.get("misconception")
        if mid:
            entry = misconceptions.setdefault(mid, [0, {}])
            entry[0] += 1
            entry[1][t.problem_id] = t.problem_title
    state_row = (
        LearnerModelState.objects.filter(student=student, curriculum__slug=curriculum.slug)
        .order_by("-curriculum__version")
        .first()
    )
    state = stored_state(state_row) if state_row is not None else None
    model = mastery_model()
    counts = (
        MasteryEvent.objects.filter(student=student, curriculum__slug=curriculum.slug)
        .values_list("concept")
        .annotate(n=Count("pk"))
    )
    return StudentAggregates(
        last_active=max([*messages, *answers], default=None),
        solutions=[
            [t.created_at.isoformat(), t.problem_title, t.session_id]
            for t in turns
            if t.record.get("action") in SOLUTION_ACTIONS
        ],
        fast_hints=len(fast),
        fast_hint_session_id=fast[-1].session_id if fast else None,
        concepts={concept: (model.mastery(state, concept) if state is not None else None, n) for concept, n in counts},
        days={day: (m, a) for day, (m, a) in days.items()},
        misconceptions={
            mid: (n, [[pid, title] for pid, title in sorted(problems.items())])
            for mid, (n, problems) in misconceptions.items()
        },
    )


def class_mastery_aggregated(students: list[User], curriculum: Curriculum) -> Mastery:
    """``class_mastery`` from ``ConceptAggregate``: one indexed read instead of states, events and model calls."""
    from tutor.coaching.models import ConceptAggregate

    result = Mastery(list(curriculum.concepts.order_by("key")))
    keys = {c.key for c in result.concepts}
    rows = ConceptAggregate.objects.filter(student__in=students, curriculum_slug=curriculum.slug).values_list(
        "student_id", "concept", "mastery", "evidence"
    )
    for student_id, concept, m, n in rows:
        result.evidence[(student_id, concept)] = n
        if concept in keys:
            result.value[(student_id, concept)] = m if n > 0 else None
    for student in students:
        for concept in result.concepts:
            result.value.setdefault((student.pk, concept.key), None)
    return result


def activity_by_day_aggregated(students: list[User], curriculum: Curriculum, days: int = ACTIVITY_DAYS) -> list[dict]:
    """``activity_by_day`` from ``DailyActivity``: a sum per day over at most students x days rows."""
    from django.db.models import Sum

    from tutor.coaching.models import DailyActivity

    today = timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    sums = {
        row["day"]: row
        for row in DailyActivity.objects.filter(
            student__in=students, curriculum_slug=curriculum.slug, day__gte=start, day__lte=today
        )
        .values("day")
        .annotate(m=Sum("messages"), a=Sum("answers"))
    }
    out = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        row = sums.get(day, {})
        out.append({"day": day.isoformat(), "messages": row.get("m") or 0, "answers": row.get("a") or 0})
    return out


def misconception_counts_aggregated(students: list[User], curriculum: Curriculum) -> list[dict]:
    """``misconception_counts`` from ``MisconceptionAggregate``, without example turns (the dashboard shows none)."""
    from tutor.coaching.models import MisconceptionAggregate

    names = {s.pk: student_name(s) for s in students}
    by_id: dict[str, dict] = {}
    for row in MisconceptionAggregate.objects.filter(student__in=students, curriculum_slug=curriculum.slug):
        entry = by_id.setdefault(row.misconception, {"count": 0, "who": set(), "problems": {}})
        entry["count"] += row.count
        entry["who"].add(row.student_id)
        entry["problems"].update({pid: title for pid, title in row.problems})
    out = [
        {
            "id": mid,
            "count": e["count"],
            "student_ids": sorted(e["who"]),
            "students": [names[s] for s in sorted(e["who"], key=lambda s: names[s])],
            "examples": [],
            "problems": sorted(set(e["problems"].values())),
            "problem_ids": sorted(e["problems"]),
        }
        for mid, e in by_id.items()
    ]
    out.sort(key=lambda r: (-len(r["student_ids"]), -r["count"], r["id"]))
    return out


def needs_attention_aggregated(students: list[User], curriculum: Curriculum) -> list[dict]:
    """``needs_attention`` from ``StudentSummary``: same rules, same evidence strings.

    Last activity is the latest over all of the student's summaries (every
    curriculum), as the naive rule reads it; the stuck window is applied here,
    at read time, so it slides without a refresh.
    """
    from tutor.coaching.models import StudentSummary

    now = timezone.now()
    recent = now - dt.timedelta(days=RECENT_DAYS)
    last_seen: dict[int, dt.datetime] = {}
    for row in StudentSummary.objects.filter(student__in=students, last_active__isnull=False).values(
        "student_id", "last_active"
    ):
        if row["student_id"] not in last_seen or row["last_active"] > last_seen[row["student_id"]]:
            last_seen[row["student_id"]] = row["last_active"]
    summaries = {
        r.student_id: r for r in StudentSummary.objects.filter(student__in=students, curriculum_slug=curriculum.slug)
    }
    out = []
    for student in students:
        summary = summaries.get(student.pk)
        solutions = [s for s in (summary.solutions if summary else []) if dt.datetime.fromisoformat(s[0]) >= recent]
        if len(solutions) >= STUCK_SOLUTIONS:
            problems = sorted({s[1] for s in solutions})
            out.append(
                {
                    "student": student,
                    "reason": "stuck",
                    "evidence": f"{len(solutions)} bottom-out solutions in the last {RECENT_DAYS} days "
                    f"(on {', '.join(problems)})",
                    "session_id": solutions[-1][2],
                }
            )
        if summary is not None and summary.fast_hints >= GAMING_HINTS:
            out.append(
                {
                    "student": student,
                    "reason": "gaming",
                    "evidence": f"{summary.fast_hints} hint requests each within {GAMING_SECONDS} s "
                    "of the previous one",
                    "session_id": summary.fast_hint_session_id,
                }
            )
        last = last_seen.get(student.pk)
        if last is None:
            out.append({"student": student, "reason": "inactive", "evidence": "no activity yet", "session_id": None})
        elif now - last > dt.timedelta(days=INACTIVE_DAYS):
            out.append(
                {
                    "student": student,
                    "reason": "inactive",
                    "evidence": f"last active {last:%Y-%m-%d}, {(now - last).days} days ago",
                    "session_id": None,
                }
            )
    return out


def dashboard_data(classroom: Classroom, curriculum: Curriculum, *, aggregated: bool = True) -> dict:
    """Every table of the class dashboard; the page and its CSV export both read this.

    ``aggregated=False`` computes the same from source with the naive
    selectors: the tests check the two agree, and ``bench/dashboard.py`` times
    both in one run.
    """
    students = class_students(classroom)
    if aggregated:
        mastery = class_mastery_aggregated(students, curriculum)
        misconceptions = misconception_counts_aggregated(students, curriculum)
        attention = needs_attention_aggregated(students, curriculum)
        activity = activity_by_day_aggregated(students, curriculum)
    else:
        mastery = class_mastery(students, curriculum)
        turns = class_turns(students, curriculum, DASHBOARD_TURNS)
        misconceptions = misconception_counts(students, turns)
        attention = needs_attention(students, curriculum, turns)
        activity = activity_by_day(students, curriculum)
    return {
        "students": students,
        "mastery": mastery,
        "misconceptions": misconceptions,
        "attention": attention,
        "activity": activity,
        "abilities": ability_rows(students, curriculum),
        "goals": goal_progress(classroom, students, curriculum, mastery),
        "srl": srl_rows(students),
        "recommendations": recommendations(students, curriculum, mastery, misconceptions),
    }

"""Every write of the planning app: goals, plan refreshes, the next-problem choice, the agent loop.

- ``goal_set()`` / ``goal_remove()``: a teacher assigns a goal concept to a
  class or a student, a student picks their own; removing closes the goal.
- ``plan_refresh()``: the student's learning path to every active goal (their
  own and their classes'), from the learner model's mastery and the IRT
  ability, by the pure planner (``knowledge_graph.planner`` through
  ``paths.py``). It logs a ``PlanDecision`` only when the plan changed, so
  calling it on every page view is safe: the log holds changes, not views.
- ``next_problem_choose()``: a problem on the plan's current concept at the
  IRT target success rate (``selection.py``), logged with its reason.
- ``problem_finished()``: the agent loop. ``turn_run`` calls it on commit when
  a session's problem ends; it re-plans with the new evidence and chooses the
  next problem, logged against that session, so the session page can offer it.

Who may call what is decided by the views through ``tutor.accounts.permissions``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import networkx as nx
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tutor.accounts.models import Classroom, User
from tutor.curricula.concept_graph import concept_graph
from tutor.curricula.models import Curriculum, Problem
from tutor.dialogue.models import TutorSession
from tutor.planning import paths
from tutor.planning.facts import CurriculumFacts, StudentFacts, curriculum_facts, student_facts
from tutor.planning.models import Goal, PlanDecision
from tutor.planning.selection import TARGET_SUCCESS, pick_problem

log = logging.getLogger(__name__)


class GoalError(ValueError):
    """A goal that cannot be set; the message is for the person who tried."""


# --- Goals ---------------------------------------------------------------------------------------------------


def active_goals(student: User, curriculum_slug: str) -> list[Goal]:
    """The student's own active goals and those of their classes that use the curriculum, earliest due first."""
    classes = Classroom.objects.filter(students=student, curricula__slug=curriculum_slug)
    return list(
        Goal.objects.filter(curriculum_slug=curriculum_slug, status=Goal.Status.ACTIVE)
        .filter(Q(student=student) | Q(classroom__in=classes))
        .select_related("set_by", "classroom")
        .distinct()
        .order_by("due", "created_at", "pk")
    )


def goal_set(
    *,
    by: User,
    curriculum: Curriculum,
    concept: str,
    student: User | None = None,
    classroom: Classroom | None = None,
    due: date | None = None,
) -> Goal:
    """Make ``concept`` an active goal of ``student`` or of every student of ``classroom``.

    Idempotent: an active goal on the same concept for the same student or
    class is kept (its due date updated when one is given), so a double click
    or a teacher re-assigning does not pile up goals. The concept must exist
    in ``curriculum`` and the student or class must use that curriculum.
    """
    if (student is None) == (classroom is None):
        raise GoalError("A goal is for one student or one class.")
    facts = curriculum_facts(curriculum)
    if concept not in facts.names:
        raise GoalError(f"{concept!r} is not a concept of {curriculum.title}.")
    if classroom is not None and not classroom.curricula.filter(slug=curriculum.slug).exists():
        raise GoalError(f"{classroom.name} does not use {curriculum.title}.")
    if student is not None and not Classroom.objects.filter(students=student, curricula__slug=curriculum.slug).exists():
        raise GoalError(f"{student.username} is not in a class that uses {curriculum.title}.")
    target = {"student": student} if student is not None else {"classroom": classroom}
    lookup = {"curriculum_slug": curriculum.slug, "concept": concept, "status": Goal.Status.ACTIVE, **target}
    try:
        with transaction.atomic():
            goal = Goal.objects.select_for_update().filter(**lookup).first()
            if goal is None:
                return Goal.objects.create(set_by=by, due=due, **lookup)
            if due is not None and goal.due != due:
                goal.due = due
                goal.save(update_fields=["due"])
            return goal
    except IntegrityError:  # a concurrent request created the same goal first
        return Goal.objects.get(**lookup)


def goal_remove(*, by: User, goal: Goal) -> Goal:
    """Close a goal (kept as ``removed`` so older plan snapshots still name it)."""
    if goal.status == Goal.Status.ACTIVE:
        goal.status, goal.closed_at = Goal.Status.REMOVED, timezone.now()
        goal.save(update_fields=["status", "closed_at"])
        log.info("goal %s removed by %s", goal.pk, by.pk)
    return goal


# --- The plan ------------------------------------------------------------------------------------------------


@dataclass
class PlanState:
    """Everything a plan page shows: the plan and the facts it was computed from."""

    curriculum: Curriculum
    facts: CurriculumFacts
    student: StudentFacts
    goals: list[Goal]
    targets: list[str]  # the goal concepts the plan reaches (active, known to this version, not yet mastered)
    reached: list[str]  # goal concepts already mastered
    unknown: list[str]  # goal concepts this curriculum version does not have
    plan: paths.Plan | None
    error: str = ""
    snapshot: dict = field(default_factory=dict)

    @property
    def current(self) -> str | None:
        """The first step of the plan the student has not mastered (the concept to work on now)."""
        tau = paths.TAU
        return next((c for c in self.steps if self.student.mastery.get(c, 0.0) < tau), None)

    @property
    def steps(self) -> list[str]:
        return list(self.plan.steps) if self.plan is not None else []


def _goal_names(keys: list[str], facts: CurriculumFacts) -> str:
    return ", ".join(facts.name(k) for k in keys) or "none"


def _snapshot(state: PlanState) -> dict:
    """What a ``PlanDecision`` stores: the plan as the planner returned it plus what it was computed from."""
    snap = state.plan.as_dict() if state.plan is not None else {"steps": []}
    snap = {k: v for k, v in snap.items() if k not in ("reasons",)} | {
        "goals": state.targets,
        "reached": state.reached,
        "mastery": {c: round(state.student.mastery.get(c, 0.0), 3) for c in [*state.steps, *state.targets]},
        "theta": state.student.theta,
        "tau": paths.TAU,
    }
    if state.plan is not None:
        snap["reasons"] = {c: state.plan.reasons.get(c, "") for c in state.steps}
    if state.error:
        snap["error"] = state.error
    return snap


def _plan_reason(state: PlanState, before: dict | None) -> str:
    """The plan change in words: what it reaches, where it starts, and what changed since the last plan."""
    facts = state.facts
    if state.error:
        return f"no plan: {state.error}"
    if not state.targets:
        return "no plan: every goal is reached" if state.reached else "no plan: there are no goals"
    steps = state.steps
    words = (
        f"plan: {len(steps)} step{'s' if len(steps) != 1 else ''} to reach {_goal_names(state.targets, facts)}; "
        f"first {facts.name(steps[0])}"
        if steps
        else f"plan: nothing left to learn for {_goal_names(state.targets, facts)}"
    )
    if before:
        changes = []
        old_goals, old_steps = set(before.get("goals", [])), set(before.get("steps", []))
        if added := [g for g in state.targets if g not in old_goals]:
            changes.append(f"goal added: {_goal_names(added, facts)}")
        if gone := [g for g in before.get("goals", []) if g not in state.targets]:
            changes.append(f"goal dropped or reached: {_goal_names(gone, facts)}")
        if done := [
            s for s in before.get("steps", []) if s not in steps and state.student.mastery.get(s, 0) >= paths.TAU
        ]:
            changes.append(f"now mastered: {_goal_names(done, facts)}")
        if new := [s for s in steps if s not in old_steps and s not in state.targets]:
            changes.append(f"new steps: {_goal_names(new, facts)}")
        if changes:
            words += " (" + "; ".join(changes) + ")"
    return words


def _log(student: User, curriculum: Curriculum, kind: str, reason: str, plan: dict, **extra) -> PlanDecision:
    return PlanDecision.objects.create(
        student=student, curriculum=curriculum, kind=kind, reason=reason, plan=plan, **extra
    )


def _last(student: User, curriculum: Curriculum, *kinds: str) -> PlanDecision | None:
    return PlanDecision.objects.filter(student=student, curriculum=curriculum, kind__in=kinds).first()


def plan_state_refresh(student: User, curriculum: Curriculum, *, session: TutorSession | None = None) -> PlanState:
    """Re-plan the student's path in ``curriculum`` and log the plan if it changed. See ``plan_refresh``.

    A student's own goal that is now mastered is closed as reached (and
    logged); a class goal stays open for the class and simply counts as
    reached for this student.
    """
    facts = curriculum_facts(curriculum)
    goals = active_goals(student, curriculum.slug)
    mine = student_facts(student, curriculum, facts.names)
    concepts = list(dict.fromkeys(g.concept for g in goals))
    unknown = [c for c in concepts if c not in facts.names]
    reached = [c for c in concepts if c in facts.names and mine.mastery[c] >= paths.TAU]
    targets = [c for c in concepts if c in facts.names and c not in reached]
    state = PlanState(curriculum, facts, mine, goals, targets, reached, unknown, plan=None)
    try:
        state.plan = paths.plan_for(student.pk, curriculum, facts, mine, targets)
    except paths.PlanError as exc:
        state.error = str(exc)
    state.snapshot = _snapshot(state)

    with transaction.atomic():
        for goal in goals:
            if goal.student_id == student.pk and goal.concept in reached:
                goal.status, goal.closed_at = Goal.Status.DONE, timezone.now()
                goal.save(update_fields=["status", "closed_at"])
                _log(
                    student,
                    curriculum,
                    PlanDecision.Kind.GOAL_REACHED,
                    f"goal reached: {facts.name(goal.concept)} (mastery {mine.mastery[goal.concept]:.2f})",
                    state.snapshot,
                    concept=goal.concept,
                    session=session,
                )
        last = _last(student, curriculum, PlanDecision.Kind.PLAN, PlanDecision.Kind.NO_PLAN)
        before = last.plan if last is not None else None
        if _changed(before, state.snapshot):
            _log(
                student,
                curriculum,
                PlanDecision.Kind.NO_PLAN if state.plan is None or state.error else PlanDecision.Kind.PLAN,
                _plan_reason(state, before),
                state.snapshot,
                concept=state.current or "",
                session=session,
            )
    return state


def _changed(before: dict | None, after: dict) -> bool:
    """A plan changed when its steps, its goals or its error changed (not when only a mastery moved)."""
    if before is None:
        return bool(after.get("goals") or after.get("error") or after.get("reached"))
    keys = ("steps", "goals", "error")
    return any(before.get(k) != after.get(k) for k in keys)


def plan_refresh(student: User, curriculum: Curriculum) -> paths.Plan | None:
    """The student's learning path in ``curriculum`` to all their active goals, logged when it changed.

    Goals: the student's own and those of every class of theirs that uses the
    curriculum (any version: goals are keyed by slug). Mastery: the learner
    model's current state (``stored_state``); the cost of each concept: the
    planner's ``CostModel`` fed with the IRT difficulty against the student's
    theta and the concept's size (``paths.py``). None when there is no goal
    left to reach or no plan is possible (the reason is logged).
    """
    return plan_state_refresh(student, curriculum).plan


# --- The next problem ----------------------------------------------------------------------------------------


def _needed_by(concept: str, state: PlanState) -> list[str]:
    graph = concept_graph(state.curriculum)
    return [g for g in state.targets if g == concept or (concept in graph and nx.has_path(graph, concept, g))]


def _next_reason(state: PlanState, problem_id: int, pick, skipped: list[str]) -> str:
    facts, concept = state.facts, pick.concept
    needed = _needed_by(concept, state)
    if concept in needed:
        why = (
            "it is your goal" if len(needed) == 1 else f"it is your goal and {_goal_names(needed[1:], facts)} needs it"
        )
    else:
        why = f"goal {_goal_names(needed, facts)} needs it"
    words = (
        f"next: {facts.name(concept)} because {why} and your mastery is {state.student.mastery[concept]:.2f}; "
        f"problem “{facts.problem_titles[problem_id]}”, predicted success {pick.success:.2f} "
        f"(target {TARGET_SUCCESS:.2f}{'; no easier one is left' if pick.success < TARGET_SUCCESS else ''})"
    )
    if pick.review:
        words += "; a review: you have solved every problem on this concept"
    if skipped:
        words += f"; skipped {_goal_names(skipped, facts)}: no problems yet"
    return words


@dataclass(frozen=True)
class NextProblem:
    problem: Problem | None
    reason: str
    concept: str = ""
    decision: PlanDecision | None = None


def next_problem_pick(state: PlanState) -> tuple[int | None, str, str]:
    """(problem id or None, concept, reason) for a refreshed plan. Pure given the state; writes nothing."""
    if state.error:
        return None, "", f"no next problem: {state.error}"
    if not state.targets:
        if state.reached:
            return None, "", f"no next problem: every goal is reached ({_goal_names(state.reached, state.facts)})"
        return None, "", "no next problem: choose a goal first"
    skipped = []
    start = state.steps.index(state.current) if state.current in state.steps else len(state.steps)
    for concept in state.steps[start:]:
        if state.student.mastery.get(concept, 0.0) >= paths.TAU:
            continue
        pick = pick_problem(concept, state.facts, state.student)
        if pick is None:
            skipped.append(concept)
            continue
        return pick.problem_id, concept, _next_reason(state, pick.problem_id, pick, skipped)
    return None, "", f"no next problem: no step of the plan has problems ({_goal_names(skipped, state.facts)})"


def next_problem_choose(
    student: User,
    curriculum: Curriculum,
    *,
    session: TutorSession | None = None,
    state: PlanState | None = None,
) -> tuple[Problem | None, str]:
    """Refresh the plan and choose the next problem: on the current concept, near the target success rate.

    Logged as a ``next_problem`` decision with its reason. From a page view
    (no ``session``) only a choice different from the last logged one is
    logged; after a finished ``session`` the choice is always logged and
    linked to it, which is what the session page reads.
    """
    return next_problem_decide(student, curriculum, session=session, state=state)[:2]


def next_problem_decide(
    student: User, curriculum: Curriculum, *, session: TutorSession | None = None, state: PlanState | None = None
) -> tuple[Problem | None, str, PlanDecision | None, PlanState]:
    """``next_problem_choose`` that also returns the decision row and the plan state (for the pages)."""
    if state is None:
        state = plan_state_refresh(student, curriculum, session=session)
    problem_id, concept, reason = next_problem_pick(state)
    problem = Problem.objects.filter(pk=problem_id).first() if problem_id is not None else None
    last = _last(student, curriculum, PlanDecision.Kind.NEXT_PROBLEM)
    same = last is not None and last.problem_id == problem_id and last.concept == concept and last.reason == reason
    decision = last if same and session is None else None
    if decision is None and (session is not None or problem is not None or last is not None):
        decision = _log(
            student,
            curriculum,
            PlanDecision.Kind.NEXT_PROBLEM,
            reason,
            state.snapshot,
            concept=concept,
            problem=problem,
            session=session,
        )
    return problem, reason, decision, state


# --- The agent loop ------------------------------------------------------------------------------------------


def problem_finished(session_id: int) -> PlanDecision | None:
    """After a session's problem ended: re-plan with the new evidence and choose the next problem.

    Called by ``turn_run`` through ``transaction.on_commit``, so it sees the
    committed evidence and never holds the turn's locks. It must never break
    tutoring: any failure is logged and swallowed. Idempotent per session.
    """
    try:
        session = TutorSession.objects.select_related("student", "problem__curriculum").get(pk=session_id)
        if session.status != TutorSession.Status.DONE:
            return None
        done = PlanDecision.objects.filter(session=session, kind=PlanDecision.Kind.NEXT_PROBLEM).first()
        if done is not None:
            return done
        curriculum = current_version(session.student, session.problem.curriculum)
        return next_problem_decide(session.student, curriculum, session=session)[2]
    except Exception:
        log.exception("planning after session %s failed", session_id)
        return None


def current_version(student: User, curriculum: Curriculum) -> Curriculum:
    """The version of ``curriculum`` the student's classes use now (a re-import moves classes on)."""
    newest = Curriculum.objects.filter(slug=curriculum.slug, classrooms__students=student).order_by("-version").first()
    return newest or curriculum

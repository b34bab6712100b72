"""Reads for the planning pages: the plan as rows and as graph data, the decision log, the offered next problem.

Nothing here writes; the pages get a refreshed ``PlanState`` from
``actions.plan_state_refresh`` and turn it into what templates and the
graph script read.
"""

from __future__ import annotations

from tutor.accounts.models import User
from tutor.curricula.graph_data import graph_of_curriculum
from tutor.curricula.models import Curriculum
from tutor.dialogue.models import TutorSession
from tutor.planning import paths
from tutor.planning.actions import PlanState
from tutor.planning.models import Goal, PlanDecision

STATUS_WORDS = {"mastered": "mastered", "current": "working on it now", "todo": "to do"}


def _pct(m: float) -> int:
    return round(100 * m)


def plan_rows(state: PlanState) -> list[dict]:
    """The path as a list: mastered footholds first, then each step with its status, mastery and reason."""
    facts, mastery = state.facts, state.student.mastery
    rows = []
    for key in footholds(state):
        rows.append({"key": key, "name": facts.name(key), "status": "mastered", "mastery": _pct(mastery[key])})
    current = state.current
    for n, key in enumerate(state.steps, start=1):
        if mastery.get(key, 0.0) >= paths.TAU:
            status = "mastered"
        else:
            status = "current" if key == current else "todo"
        rows.append(
            {
                "key": key,
                "name": facts.name(key),
                "step": n,
                "status": status,
                "mastery": _pct(mastery.get(key, 0.0)),
                "goal": key in state.targets,
                "problems": facts.problems.get(key, 0),
                "reason": state.plan.reasons.get(key, "") if state.plan is not None else "",
            }
        )
    for row in rows:
        row["status_words"] = STATUS_WORDS[row["status"]]
    return rows


def footholds(state: PlanState) -> list[str]:
    """Mastered direct prerequisites of the plan's steps and goals: what the path starts from."""
    from tutor.curricula.concept_graph import concept_graph

    graph, mastery = concept_graph(state.curriculum), state.student.mastery
    on_path = [*state.steps, *state.targets]
    seen: dict[str, None] = {}
    for key in on_path:
        if key in graph:
            for u in graph.predecessors(key):
                if mastery.get(u, 0.0) >= paths.TAU and u not in on_path:
                    seen[u] = None
    return sorted(seen, key=lambda k: state.facts.name(k))


def goal_rows(state: PlanState) -> list[dict]:
    """The goals with who set them and whether each is reached, planned or unknown to this version."""
    rows = []
    for goal in state.goals:
        if goal.concept in state.unknown:
            status = "not in this version of the curriculum"
        elif goal.concept in state.reached:
            status = "reached"
        else:
            status = "planned"
        rows.append(
            {
                "goal": goal,
                "name": state.facts.name(goal.concept),
                "mastery": _pct(state.student.mastery.get(goal.concept, 0.0)),
                "status": status,
                "by": "your class"
                if goal.classroom_id
                else ("you" if goal.set_by_id == goal.student_id else "teacher"),
                "removable": goal.classroom_id is None and goal.set_by_id == goal.student_id,
            }
        )
    return rows


def plan_graph_data(state: PlanState) -> dict:
    """The curriculum graph (``graph_of_curriculum``) with each concept's mastery and place on the plan."""
    data = graph_of_curriculum(state.curriculum)
    steps = {key: n for n, key in enumerate(state.steps, start=1)}
    mastery, current, tau = state.student.mastery, state.current, paths.TAU
    base = set(footholds(state))
    for concept in data["concepts"]:
        key = concept["id"]
        m = mastery.get(key, 0.0)
        concept["mastery"] = round(m, 3)
        concept["step"] = steps.get(key)
        concept["goal"] = key in state.targets or key in state.reached
        if key in steps:
            concept["plan"] = "mastered" if m >= tau else ("current" if key == current else "todo")
        elif key in base or (concept["goal"] and m >= tau):
            concept["plan"] = "mastered"
        else:
            concept["plan"] = ""
        concept["reason"] = state.plan.reasons.get(key, "") if state.plan is not None and key in steps else ""
    data.update(steps=state.steps, goals=state.targets, reached=state.reached, current=current, tau=tau)
    return data


def decisions_of(student: User, curriculum: Curriculum, limit: int = 30) -> list[PlanDecision]:
    """The latest decisions about the student's plans in any version of the curriculum, newest first."""
    return list(
        PlanDecision.objects.filter(student=student, curriculum__slug=curriculum.slug)
        .select_related("problem", "curriculum")
        .order_by("-created_at", "-pk")[:limit]
    )


def next_problem_after(session: TutorSession) -> PlanDecision | None:
    """The next-problem decision the agent loop made when ``session`` ended (None while it has not run)."""
    return (
        PlanDecision.objects.filter(session=session, kind=PlanDecision.Kind.NEXT_PROBLEM)
        .select_related("problem", "curriculum")
        .first()
    )


def class_goals(classroom) -> list[Goal]:
    """Active goals of a class and of each of its students, in the class's curricula."""
    from django.db.models import Q

    slugs = list(classroom.curricula.values_list("slug", flat=True))
    return list(
        Goal.objects.filter(status=Goal.Status.ACTIVE, curriculum_slug__in=slugs)
        .filter(Q(classroom=classroom) | Q(student__in=classroom.students.all()))
        .select_related("student", "set_by", "classroom")
        .order_by("due", "created_at", "pk")
    )

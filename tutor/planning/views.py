"""Plan pages: a student's learning path with its goals and reasons, and the teacher's goal assignment.

Views parse, ask ``tutor.accounts.permissions`` and delegate to ``actions``.
A plan, goal or class you may not see is a 404, so ids reveal nothing.
The next step is one click: the plan page's button posts to the dialogue's
``session_open`` for the chosen problem, which opens (or resumes) its session.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tutor.accounts.models import Classroom, User
from tutor.accounts.permissions import (
    can_assign_class_goal,
    can_remove_goal,
    can_set_goal,
    can_view_plan,
    classrooms_visible_to,
)
from tutor.accounts.views import role_required
from tutor.audit.actions import audit_viewed
from tutor.curricula.models import Curriculum
from tutor.planning import paths, selectors
from tutor.planning.actions import GoalError, goal_remove, goal_set, next_problem_decide, plan_state_refresh
from tutor.planning.models import Goal
from tutor.planning.selection import TARGET_SUCCESS


def _student_curriculum(student: User, curriculum_id: int) -> Curriculum:
    curriculum = Curriculum.objects.filter(pk=curriculum_id, classrooms__students=student).distinct().first()
    if curriculum is None:
        raise Http404("no such curriculum in the student's classes")
    return curriculum


def _plan_context(student: User, curriculum: Curriculum, viewer: User) -> dict:
    problem, reason, decision, state = next_problem_decide(student, curriculum)
    return {
        "student": student,
        "curriculum": curriculum,
        "state": state,
        "rows": selectors.plan_rows(state),
        "goal_rows": selectors.goal_rows(state),
        "next_problem": problem,
        "next_reason": reason,
        "decisions": selectors.decisions_of(student, curriculum),
        "concepts": sorted(state.facts.names.items(), key=lambda kv: kv[1].lower()),
        "tau_pct": round(100 * paths.TAU),
        "target_pct": round(100 * TARGET_SUCCESS),
        "is_owner": viewer.pk == student.pk,
    }


# --- Student -------------------------------------------------------------------------------------------------


@role_required("student")
def plan_page(request: HttpRequest, curriculum_id: int) -> HttpResponse:
    curriculum = _student_curriculum(request.user, curriculum_id)
    return render(request, "planning/plan.html", _plan_context(request.user, curriculum, request.user))


@role_required("student")
def plan_graph(request: HttpRequest, curriculum_id: int) -> JsonResponse:
    curriculum = _student_curriculum(request.user, curriculum_id)
    return JsonResponse(selectors.plan_graph_data(plan_state_refresh(request.user, curriculum)))


@role_required("student")
@require_POST
def my_goal_add(request: HttpRequest, curriculum_id: int) -> HttpResponse:
    curriculum = _student_curriculum(request.user, curriculum_id)
    try:
        goal = goal_set(
            by=request.user, curriculum=curriculum, concept=request.POST.get("concept", ""), student=request.user
        )
    except GoalError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"New goal: {curriculum.concepts.get(key=goal.concept).name}.")
    return redirect("plan_page", curriculum_id=curriculum.pk)


@role_required("student")
@require_POST
def my_goal_remove(request: HttpRequest, curriculum_id: int, goal_id: int) -> HttpResponse:
    curriculum = _student_curriculum(request.user, curriculum_id)
    goal = Goal.objects.filter(pk=goal_id, student=request.user, curriculum_slug=curriculum.slug).first()
    if goal is None:
        raise Http404("no such goal")
    if not can_remove_goal(request.user, goal):
        messages.error(request, "Your teacher set this goal; ask them to remove it.")
    else:
        goal_remove(by=request.user, goal=goal)
        messages.success(request, "Goal removed.")
    return redirect("plan_page", curriculum_id=curriculum.pk)


# --- Teacher -------------------------------------------------------------------------------------------------


def _visible_classroom(request: HttpRequest, class_id: int) -> Classroom:
    classroom = classrooms_visible_to(request.user).filter(pk=class_id).first()
    if classroom is None:
        raise Http404("no such class")
    return classroom


def _parse_due(text: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise GoalError(f"{text!r} is not a date (YYYY-MM-DD).")


def _assign(request: HttpRequest, classroom: Classroom) -> None:
    """Parse the assignment form and delegate; errors become messages."""
    try:
        curriculum_id, _, concept = request.POST.get("concept", "").partition(":")
        curriculum = classroom.curricula.filter(pk=int(curriculum_id or 0)).first()
        if curriculum is None:
            raise GoalError("Choose a concept of one of this class's curricula.")
        due = _parse_due(request.POST.get("due", ""))
        target = request.POST.get("student", "class")
        if target == "class":
            if not can_assign_class_goal(request.user, classroom):
                raise Http404("no such class")
            goal = goal_set(by=request.user, curriculum=curriculum, concept=concept, classroom=classroom, due=due)
            whom = f"everyone in {classroom.name}"
        else:
            student = classroom.students.filter(pk=int(target) if target.isdigit() else 0).first()
            if student is None or not can_set_goal(request.user, student, curriculum):
                raise GoalError("Choose a student of this class.")
            goal = goal_set(by=request.user, curriculum=curriculum, concept=concept, student=student, due=due)
            whom = student.get_full_name() or student.username
    except GoalError as exc:
        messages.error(request, str(exc))
        return
    name = curriculum.concepts.get(key=goal.concept).name
    messages.success(request, f"Goal {name} set for {whom}{f', due {goal.due:%Y-%m-%d}' if goal.due else ''}.")


@role_required("teacher", "admin")
@require_http_methods(["GET", "POST"])
def class_goals(request: HttpRequest, class_id: int) -> HttpResponse:
    """A class's goals: assign one to the class or to a student, remove one, open each student's plan."""
    classroom = _visible_classroom(request, class_id)
    if request.method == "POST":
        _assign(request, classroom)
        return redirect("class_goals", class_id=classroom.pk)
    curricula = [(c, list(c.concepts.order_by("name").values_list("key", "name"))) for c in classroom.curricula.all()]
    names = {(c.slug, key): name for c, concepts in curricula for key, name in concepts}
    goals = selectors.class_goals(classroom)
    for goal in goals:
        goal.concept_name = names.get((goal.curriculum_slug, goal.concept), goal.concept)
    return render(
        request,
        "planning/class_goals.html",
        {
            "classroom": classroom,
            "curricula": sorted(curricula, key=lambda pair: pair[0].title),
            "students": list(classroom.students.order_by("last_name", "first_name", "username")),
            "goals": goals,
        },
    )


@role_required("teacher", "admin")
@require_POST
def class_goal_remove(request: HttpRequest, class_id: int, goal_id: int) -> HttpResponse:
    classroom = _visible_classroom(request, class_id)
    goal = next((g for g in selectors.class_goals(classroom) if g.pk == goal_id), None)
    if goal is None or not can_remove_goal(request.user, goal):
        raise Http404("no such goal")
    goal_remove(by=request.user, goal=goal)
    messages.success(request, "Goal removed.")
    return redirect("class_goals", class_id=classroom.pk)


def _visible_plan(request: HttpRequest, student_id: int, curriculum_id: int) -> tuple[User, Curriculum]:
    student = get_object_or_404(User, pk=student_id)
    curriculum = get_object_or_404(Curriculum, pk=curriculum_id)
    if not can_view_plan(request.user, student, curriculum):
        raise Http404("no such plan")
    return student, curriculum


@login_required
def student_plan(request: HttpRequest, student_id: int, curriculum_id: int) -> HttpResponse:
    """A teacher's (or admin's) read of one student's plan, goals and decision log with reasons."""
    student, curriculum = _visible_plan(request, student_id, curriculum_id)
    if request.user.pk == student.pk:
        return redirect("plan_page", curriculum_id=curriculum.pk)
    audit_viewed(
        request, object_type="student_plan", object_id=student.pk, subject=student, detail={"curriculum": curriculum.pk}
    )
    return render(request, "planning/student_plan.html", _plan_context(student, curriculum, request.user))


@login_required
def student_plan_graph(request: HttpRequest, student_id: int, curriculum_id: int) -> JsonResponse:
    student, curriculum = _visible_plan(request, student_id, curriculum_id)
    audit_viewed(
        request,
        object_type="student_plan_graph",
        object_id=student.pk,
        subject=student,
        detail={"curriculum": curriculum.pk},
    )
    return JsonResponse(selectors.plan_graph_data(plan_state_refresh(student, curriculum)))

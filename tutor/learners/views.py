"""The open learner model: a student sees their own concept mastery on the graph and takes a placement test;
a teacher sees each student's theta with its SE.

Views parse and delegate: every write is in ``actions``. Pages that are not
yours are 404s, so ids reveal nothing.
"""

from __future__ import annotations

import random

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tutor.accounts.permissions import classrooms_visible_to
from tutor.accounts.views import role_required
from tutor.audit.actions import audit_viewed
from tutor.curricula.graph_data import graph_of_curriculum
from tutor.curricula.models import Curriculum, Item
from tutor.learners import placement
from tutor.learners.actions import PlacementError, mastery_model, placement_answer, placement_start, stored_state
from tutor.learners.models import Ability, LearnerModelState, PlacementTest


def _own_curriculum(request: HttpRequest, curriculum_id: int) -> Curriculum:
    curriculum = Curriculum.objects.filter(pk=curriculum_id, classrooms__students=request.user).distinct().first()
    if curriculum is None:
        raise Http404("no such curriculum in your classes")
    return curriculum


def masteries_of(student, curriculum: Curriculum, concepts: list[str]) -> dict[str, float]:
    state = stored_state(LearnerModelState.objects.filter(student=student, curriculum=curriculum).first())
    model = mastery_model()
    return {c: model.mastery(state, c) for c in concepts}


@role_required("student")
def learner_progress(request: HttpRequest, curriculum_id: int) -> HttpResponse:
    curriculum = _own_curriculum(request, curriculum_id)
    ability = Ability.objects.filter(student=request.user, curriculum=curriculum).first()
    return render(request, "learners/progress.html", {"curriculum": curriculum, "ability": ability})


@role_required("student")
def learner_progress_graph(request: HttpRequest, curriculum_id: int) -> JsonResponse:
    curriculum = _own_curriculum(request, curriculum_id)
    data = graph_of_curriculum(curriculum)
    mastery = masteries_of(request.user, curriculum, [c["id"] for c in data["concepts"]])
    for concept in data["concepts"]:
        concept["mastery"] = round(mastery[concept["id"]], 3)
    return JsonResponse(data)


# --- The placement test -----------------------------------------------------------------------------------


def _placement_curriculum(request: HttpRequest, curriculum_id: int) -> Curriculum:
    """A curriculum of one of the student's classes; anyone else (teachers included) gets a 404."""
    if not request.user.is_student:
        raise Http404("placement tests are for students")
    return _own_curriculum(request, curriculum_id)


def _choices(test: PlacementTest, item: Item) -> list[str]:
    """The item's options in an order fixed per test and item (authors tend to list the right one first)."""
    choices = list(item.answer.get("choices", [])) if item.answer.get("kind") == "choice" else []
    random.Random(f"{test.pk}:{item.pk}").shuffle(choices)
    return choices


@login_required
def placement_page(request: HttpRequest, curriculum_id: int) -> HttpResponse:
    curriculum = _placement_curriculum(request, curriculum_id)
    test = PlacementTest.objects.filter(student=request.user, curriculum=curriculum).select_related("current_item")
    test = test.first()
    context = {
        "curriculum": curriculum,
        "test": test,
        "max_items": placement.MAX_ITEMS,
        "se_target": placement.SE_TARGET,
        "answer_max": placement.ANSWER_MAX_CHARS,
    }
    if test is not None and test.status == PlacementTest.Status.ACTIVE and test.current_item is not None:
        context.update(item=test.current_item, choices=_choices(test, test.current_item), number=test.n_items + 1)
    elif test is not None and test.status == PlacementTest.Status.DONE:
        context.update(
            reading=placement.reading(test.theta, test.se),
            low=test.theta - 2 * test.se,
            high=test.theta + 2 * test.se,
        )
    return render(request, "learners/placement.html", context)


@login_required
@require_POST
def placement_begin(request: HttpRequest, curriculum_id: int) -> HttpResponse:
    curriculum = _placement_curriculum(request, curriculum_id)
    try:
        placement_start(student=request.user, curriculum=curriculum)
    except PlacementError as exc:
        messages.error(request, str(exc))
    return redirect("placement_page", curriculum_id=curriculum.pk)


@login_required
@require_POST
def placement_submit(request: HttpRequest, curriculum_id: int) -> HttpResponse:
    curriculum = _placement_curriculum(request, curriculum_id)
    test = PlacementTest.objects.filter(
        student=request.user, curriculum=curriculum, status=PlacementTest.Status.ACTIVE
    ).first()
    try:
        item_id = int(request.POST.get("item", ""))
    except ValueError:
        item_id = None
    if test is None or item_id is None:
        messages.info(request, "There is no question waiting for an answer.")
        return redirect("placement_page", curriculum_id=curriculum.pk)
    try:
        result = placement_answer(
            test=test, item_id=item_id, text=request.POST.get("answer", ""), dont_know="dont_know" in request.POST
        )
    except PlacementError as exc:
        messages.error(request, str(exc))
    else:
        if result.response is None:
            messages.info(request, "That question was already answered; here is where you are now.")
    return redirect("placement_page", curriculum_id=curriculum.pk)


# --- The teacher's view of theta -------------------------------------------------------------------------


@login_required
def class_abilities(request: HttpRequest, class_id: int) -> HttpResponse:
    """Each student's theta +- SE per curriculum of a class; only its teacher (or an admin) gets the page."""
    classroom = classrooms_visible_to(request.user).filter(pk=class_id).first()
    if classroom is None:
        raise Http404("no such class")
    students = list(classroom.students.order_by("last_name", "first_name", "username"))
    audit_viewed(request, object_type="class_abilities", object_id=classroom.pk, detail={"students": len(students)})
    curricula = list(classroom.curricula.order_by("title"))
    latest: dict[tuple[int, str], Ability] = {}
    # Any version of the class's curricula: a re-import moves the class, not what its students did.
    abilities = Ability.objects.filter(student__in=students, curriculum__slug__in=[c.slug for c in curricula])
    for ability in abilities.select_related("curriculum").order_by("curriculum__version"):
        latest[(ability.student_id, ability.curriculum.slug)] = ability
    tables = []
    for curriculum in curricula:
        rows = []
        for student in students:
            ability = latest.get((student.pk, curriculum.slug))
            rows.append(
                {
                    "student": student,
                    "ability": ability,
                    "low": ability.theta - 2 * ability.se if ability else None,
                    "high": ability.theta + 2 * ability.se if ability else None,
                    "older_version": ability is not None and ability.curriculum_id != curriculum.pk,
                }
            )
        tables.append({"curriculum": curriculum, "rows": rows})
    return render(
        request,
        "learners/class_abilities.html",
        {"classroom": classroom, "tables": tables, "se_target": placement.SE_TARGET},
    )

"""The open learner model: a student sees their own concept mastery on the graph."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from tutor.accounts.views import role_required
from tutor.curricula.graph_data import graph_of_curriculum
from tutor.curricula.models import Curriculum
from tutor.learners.actions import mastery_model, stored_state
from tutor.learners.models import LearnerModelState


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
    return render(request, "learners/progress.html", {"curriculum": curriculum})


@role_required("student")
def learner_progress_graph(request: HttpRequest, curriculum_id: int) -> JsonResponse:
    curriculum = _own_curriculum(request, curriculum_id)
    data = graph_of_curriculum(curriculum)
    mastery = masteries_of(request.user, curriculum, [c["id"] for c in data["concepts"]])
    for concept in data["concepts"]:
        concept["mastery"] = round(mastery[concept["id"]], 3)
    return JsonResponse(data)

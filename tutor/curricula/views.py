"""Curriculum pages: the list, the admin upload workflow, the graph view.

Upload is two steps on purpose: the first stores the file with its full
validation report (every problem and its place, or a summary and a graph
preview); the second, a separate POST, publishes it.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tutor.accounts.views import role_required
from tutor.curricula import actions
from tutor.curricula.graph_data import graph_of_curriculum, graph_of_package
from tutor.curricula.models import Curriculum, CurriculumUpload
from tutor.curricula.package import MAX_FILE_BYTES
from tutor.curricula.sources import FORMATS


@role_required("teacher", "admin")
def curriculum_list(request: HttpRequest) -> HttpResponse:
    curricula = Curriculum.objects.order_by("slug", "-version")
    latest: dict[str, Curriculum] = {}
    for c in curricula:
        latest.setdefault(c.slug, c)
    return render(request, "curricula/list.html", {"curricula": list(latest.values())})


@role_required("admin")
@require_http_methods(["GET", "POST"])
def curriculum_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        upload = request.FILES.get("package")
        fmt = request.POST.get("format", "auto")
        if upload is None:
            messages.error(request, "choose a curriculum file to upload")
        elif fmt not in FORMATS or fmt == "oatutor":
            messages.error(request, f"format {fmt!r} cannot be uploaded here; use auto, tutorgraph or coherence")
        elif upload.size > MAX_FILE_BYTES:
            messages.error(request, f"{upload.name}: {upload.size} bytes is over the {MAX_FILE_BYTES} limit")
        else:
            checked = actions.curriculum_upload_check(
                user=request.user,
                data=upload.read(),
                filename=upload.name,
                fmt=fmt,
                break_cycles=request.POST.get("break_cycles") == "on",
            )
            return redirect("curriculum_upload_review", upload_id=checked.pk)
    formats = [f for f in FORMATS if f != "oatutor"]
    return render(request, "curricula/upload.html", {"formats": formats, "max_mb": MAX_FILE_BYTES // 2**20})


@role_required("admin")
def curriculum_upload_review(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(CurriculumUpload, pk=upload_id)
    return render(request, "curricula/review.html", {"upload": upload})


@role_required("admin")
def curriculum_upload_graph(request: HttpRequest, upload_id: int) -> JsonResponse:
    upload = get_object_or_404(CurriculumUpload, pk=upload_id, status=CurriculumUpload.Status.VALID)
    return JsonResponse(graph_of_package(upload.package, upload.summary.get("dropped_edges", [])))


@role_required("admin")
@require_POST
def curriculum_upload_publish(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(CurriculumUpload, pk=upload_id)
    try:
        curriculum = actions.curriculum_upload_publish(upload=upload, user=request.user)
    except actions.UploadError as exc:
        messages.error(request, str(exc))
        return redirect("curriculum_upload_review", upload_id=upload.pk)
    messages.success(request, f"Published {curriculum.title} as version {curriculum.version}.")
    return redirect("curriculum_graph", curriculum_id=curriculum.pk)


@role_required("teacher", "admin")
def curriculum_graph(request: HttpRequest, curriculum_id: int) -> HttpResponse:
    curriculum = get_object_or_404(Curriculum, pk=curriculum_id)
    return render(request, "curricula/graph.html", {"curriculum": curriculum})


@role_required("teacher", "admin")
def curriculum_graph_data(request: HttpRequest, curriculum_id: int) -> JsonResponse:
    return JsonResponse(graph_of_curriculum(get_object_or_404(Curriculum, pk=curriculum_id)))

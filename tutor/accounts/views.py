"""Class pages: students join with a code, teachers see their rosters.

Views parse input, ask ``permissions`` and call ``actions``; nothing else.
A class that is not yours is a 404, so ids reveal nothing.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tutor.accounts import actions
from tutor.accounts.models import Classroom
from tutor.accounts.permissions import classrooms_visible_to
from tutor.accounts.roster import MAX_ROSTER_BYTES, RosterError
from tutor.audit.actions import audit_viewed
from tutor.dialogue.models import TutorSession


def role_required(*roles: str):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args, **kwargs):
            if request.user.role not in roles and not (request.user.is_admin and "admin" in roles):
                raise PermissionDenied(f"this page is for {' or '.join(roles)} accounts")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _visible_classroom(request: HttpRequest, class_id: int) -> Classroom:
    classroom = classrooms_visible_to(request.user).filter(pk=class_id).first()
    if classroom is None:
        raise Http404("no such class")
    return classroom


@role_required("student")
@require_http_methods(["GET", "POST"])
def class_join(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            classroom = actions.classroom_join(student=request.user, code=request.POST.get("code", ""))
        except actions.ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"You joined {classroom.name}.")
            return redirect("student_home")
    return render(request, "accounts/join.html")


@role_required("teacher", "admin")
@require_http_methods(["GET", "POST"])
def teacher_classes(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            classroom = actions.classroom_create(teacher=request.user, name=request.POST.get("name", ""))
        except actions.ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Created {classroom.name}; students join with code {classroom.code}.")
            return redirect("teacher_class_detail", class_id=classroom.pk)
    classrooms = classrooms_visible_to(request.user).prefetch_related("students")
    return render(request, "accounts/teacher_classes.html", {"classrooms": classrooms})


@role_required("teacher", "admin")
def teacher_class_detail(request: HttpRequest, class_id: int) -> HttpResponse:
    classroom = _visible_classroom(request, class_id)
    students = classroom.students.order_by("last_name", "first_name", "username")
    audit_viewed(request, object_type="class_detail", object_id=classroom.pk, detail={"students": students.count()})
    sessions = (
        # Any version of the class's curricula: a re-import moves the class, not its history.
        TutorSession.objects.filter(
            student__in=students, problem__curriculum__slug__in=classroom.curricula.values("slug")
        )
        .select_related("student", "problem")
        .order_by("-created_at")[:200]
    )
    return render(
        request,
        "accounts/teacher_class_detail.html",
        {"classroom": classroom, "students": students, "sessions": sessions, "max_bytes": MAX_ROSTER_BYTES},
    )


@role_required("teacher", "admin")
@require_POST
def roster_upload(request: HttpRequest, class_id: int) -> HttpResponse:
    classroom = _visible_classroom(request, class_id)
    upload = request.FILES.get("roster")
    if upload is None:
        messages.error(request, "choose a CSV file to upload")
        return redirect("teacher_class_detail", class_id=classroom.pk)
    if upload.size > MAX_ROSTER_BYTES:
        messages.error(request, f"{upload.name}: the file is {upload.size} bytes; the limit is {MAX_ROSTER_BYTES}")
        return redirect("teacher_class_detail", class_id=classroom.pk)
    try:
        result = actions.roster_import(classroom=classroom, data=upload.read())
    except RosterError as exc:
        messages.error(request, f"{upload.name}: {exc}. Nobody was added.")
        return redirect("teacher_class_detail", class_id=classroom.pk)
    return render(request, "accounts/roster_result.html", {"classroom": classroom, "result": result})

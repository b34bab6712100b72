"""My data: download everything as a ZIP, ask for deletion (after a cool-off), cancel it.

The same page serves a user's own data (``/privacy/``) and an adult acting
for a student (``/privacy/users/<id>/``: the student's teacher or an admin,
``permissions.can_manage_privacy_of``); for anyone else that id is a 404, so
ids reveal nothing. Views parse and delegate to ``actions``; forms post and
redirect (PRG). No JavaScript: the download is a plain link.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tutor.accounts.models import User
from tutor.accounts.permissions import can_manage_privacy_of
from tutor.privacy import actions
from tutor.privacy.models import DeletionRequest


def _subject(request: HttpRequest, user_id: int | None) -> User:
    if user_id is None:
        return request.user
    subject = get_object_or_404(User, pk=user_id)
    if not can_manage_privacy_of(request.user, subject):
        raise Http404("no such user")
    return subject


def _back(subject: User, request: HttpRequest) -> HttpResponse:
    if subject.pk == request.user.pk:
        return redirect("privacy_home")
    return redirect("privacy_user", user_id=subject.pk)


@login_required
@require_GET
def privacy_page(request: HttpRequest, user_id: int | None = None) -> HttpResponse:
    subject = _subject(request, user_id)
    own = subject.pk == request.user.pk
    tables = actions.export_tables(subject)
    return render(
        request,
        "privacy/page.html",
        {
            "subject": subject,
            "own": own,
            "tables": [(name, len(found)) for name, found in tables.items() if found],
            "pending": actions.pending_deletion(subject),
            "history": DeletionRequest.objects.filter(user=subject).exclude(status=DeletionRequest.Status.PENDING),
            "export_url": "privacy_export" if own else "privacy_user_export",
        },
    )


@never_cache
@login_required
@require_GET
def privacy_export(request: HttpRequest, user_id: int | None = None) -> HttpResponse:
    """The ZIP download. A GET: it changes no data (the audit log records it), so a reload is harmless."""
    subject = _subject(request, user_id)
    data = actions.data_export(actor=request.user, subject=subject, request=request)
    response = HttpResponse(data, content_type="application/zip")
    name = f"tutorgraph-data-{subject.username}-{timezone.now():%Y%m%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def privacy_delete(request: HttpRequest, user_id: int | None = None) -> HttpResponse:
    """Ask for deletion. The user's name must be typed in ``confirm``: a stray click deletes nothing."""
    subject = _subject(request, user_id)
    typed = request.POST.get("confirm", "").strip()
    if typed != subject.username:
        messages.error(
            request,
            f"Nothing was requested: type the username {subject.username} in the confirmation box "
            f"(you typed {typed!r}).",
        )
        return _back(subject, request)
    deletion = actions.deletion_request(actor=request.user, subject=subject, request=request)
    local_due = timezone.localtime(deletion.due_at)
    messages.success(
        request,
        f"Deletion requested. All data of {subject.username} will be deleted on {local_due:%Y-%m-%d %H:%M} "
        "unless the request is cancelled before then.",
    )
    return _back(subject, request)


@login_required
@require_POST
def privacy_cancel(request: HttpRequest, user_id: int | None = None) -> HttpResponse:
    subject = _subject(request, user_id)
    pending = actions.pending_deletion(subject)
    if pending is None:
        messages.error(request, f"There is no pending deletion request for {subject.username} to cancel.")
        return _back(subject, request)
    try:
        actions.deletion_cancel(actor=request.user, deletion=pending, request=request)
    except actions.PrivacyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The deletion request for {subject.username} is cancelled; nothing was deleted.")
    return _back(subject, request)

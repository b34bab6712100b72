"""The one write path of the audit log: ``audit_record()``."""

from __future__ import annotations

from django.http import HttpRequest

from tutor.audit.models import AuditEvent

# Keys allowed in ``detail``: anything else is dropped, so no caller can put
# message contents into the log by accident.
MAX_DETAIL_VALUE_CHARS = 200


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _clean(detail: dict | None) -> dict:
    out: dict = {}
    for key, value in (detail or {}).items():
        if isinstance(value, bool | int | float) or value is None:
            out[str(key)] = value
        elif isinstance(value, str):
            out[str(key)] = value[:MAX_DETAIL_VALUE_CHARS]
        elif isinstance(value, list | tuple):
            out[str(key)] = [v if isinstance(v, int | float) else str(v)[:MAX_DETAIL_VALUE_CHARS] for v in value][:50]
    return out


def audit_record(
    *,
    action: str,
    actor=None,
    subject=None,
    object_type: str = "",
    object_id: object = "",
    detail: dict | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event. ``actor`` None means the system (a beat task).

    ``detail`` keeps scalars, short strings and short lists only: ids and
    counts, never message contents.
    """
    if action not in AuditEvent.Action.values:
        raise ValueError(f"unknown audit action {action!r}; add it to AuditEvent.Action")
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_name=getattr(actor, "username", "") or "",
        subject=subject,
        subject_name=getattr(subject, "username", "") or "",
        object_type=object_type,
        object_id=str(object_id)[:128],
        detail=_clean(detail),
        ip=_client_ip(request),
    )


def audit_viewed(
    request: HttpRequest,
    *,
    object_type: str,
    object_id: object,
    subject=None,
    action: str = "view",
    detail: dict | None = None,
) -> AuditEvent | None:
    """Record that the signed-in adult read a student's data (a page, JSON or CSV).

    A student reading their own data is not audited (``subject`` is the
    viewer). Class-wide pages pass no ``subject`` and put the class id in
    ``object_id`` and the number of students in ``detail["students"]``: one
    event per page view, not one per student.
    """
    user = request.user
    if subject is not None and subject.pk == user.pk:
        return None
    if getattr(user, "role", None) == "student" and not user.is_superuser:
        return None  # students only reach their own data (and classmates' names on a leaderboard)
    return audit_record(
        action=action,
        subject=subject,
        object_type=object_type,
        object_id=object_id,
        detail={"path": request.path, **(detail or {})},
        request=request,
    )

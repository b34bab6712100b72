"""The audit log browser: ``/audit/``, admins only.

Newest first, 50 a page, filtered by action, actor, subject and a date range
(UTC days, both ends included). Shows what the rows hold: who, what, whom,
which object, ids and counts; no row holds message contents.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tutor.accounts.views import role_required
from tutor.audit.models import AuditEvent

PAGE_SIZE = 50
FILTER_MAX_CHARS = 150


def _day(value: str, field: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{field}: {value[:20]!r} is not a date (YYYY-MM-DD)")
        return None


def _filtered(params, errors: list[str]):
    events = AuditEvent.objects.order_by("-at", "-id")
    action = params.get("action", "")
    if action:
        if action in AuditEvent.Action.values:
            events = events.filter(action=action)
        else:
            errors.append(f"action: {action[:40]!r} is not one of {', '.join(AuditEvent.Action.values)}")
    actor = params.get("actor", "").strip()[:FILTER_MAX_CHARS]
    if actor:
        events = events.filter(actor_name__iexact=actor)
    subject = params.get("subject", "").strip()[:FILTER_MAX_CHARS]
    if subject:
        events = events.filter(subject_name__iexact=subject)
    since = _day(params.get("since", ""), "from", errors)
    until = _day(params.get("until", ""), "to", errors)
    if since:
        events = events.filter(at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until:
        events = events.filter(at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC))
    return events


@role_required("admin")
def audit_log(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    events = _filtered(request.GET, errors)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {
            "page": page,
            "errors": errors,
            "actions": AuditEvent.Action.choices,
            "filters": {
                k: request.GET.get(k, "")[:FILTER_MAX_CHARS] for k in ("action", "actor", "subject", "since", "until")
            },
            "query": query.urlencode(),
        },
    )

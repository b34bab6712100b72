"""Project-level views: the home page router and the health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own start page."""
    user = request.user
    if user.is_admin:
        return redirect("admin:index")
    if user.is_teacher:
        return redirect("teacher_classes")
    return redirect("student_home")


def _check(fn) -> dict:
    try:
        fn()
        return {"ok": True}
    except Exception as exc:  # a health check reports failures, it never raises
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}


def _db() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")


def _cache() -> None:
    cache.set("healthz", "1", 5)
    if cache.get("healthz") != "1":
        raise RuntimeError("cache did not return the value it was given")


def _broker() -> None:
    from tutor.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """DB, cache and broker status as JSON; 503 when any is down.

    In the embedded mode there is no broker: turns run in-process, and the
    broker is reported as not used rather than as healthy.
    """
    checks = {"database": _check(_db), "cache": _check(_cache)}
    if settings.TURN_EXECUTOR == "celery":
        checks["broker"] = _check(_broker)
    else:
        checks["broker"] = {"ok": True, "mode": "inprocess (no broker)"}
    healthy = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if healthy else "degraded", "executor": settings.TURN_EXECUTOR, "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)

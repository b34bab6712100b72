"""Project-level views: the home page router, liveness and readiness.

- ``/healthz`` is liveness: the process serves requests. It calls no
  dependency, so a dead Redis or database never makes an orchestrator kill
  (restart) web processes that would be just as stuck after a restart.
- ``/readyz`` is readiness: the database, the cache, the channel layer and, in
  the distributed mode, the Celery broker, each checked for real with a short
  deadline. 503 names the dependency that failed and the error; a load
  balancer takes the replica out of rotation until it answers 200 again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# Each readiness check gets this long; they run side by side, so the probe
# answers within about this long even when a dependency hangs.
READY_CHECK_TIMEOUT_S = 2.0


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own start page."""
    user = request.user
    if user.is_admin:
        return redirect("admin:index")
    if user.is_teacher:
        return redirect("teacher_classes")
    return redirect("student_home")


def _database() -> None:
    # A fresh connection in the check's own thread: a probe proves that a new
    # connection can be made now, not that an old one once worked.
    try:
        with connections["default"].cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        connections.close_all()


def _cache() -> None:
    cache = caches["default"]
    token = str(time.monotonic_ns())
    cache.set("readyz", token, 10)
    if cache.get("readyz") != token:
        raise RuntimeError("the cache did not return the value it was given")


def _channel_layer() -> None:
    from channels.layers import get_channel_layer

    async def round_trip() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.ping"})
        message = await layer.receive(channel)
        if message.get("type") != "readyz.ping":
            raise RuntimeError(f"the channel layer returned {message!r}")

    async def bounded() -> None:
        await asyncio.wait_for(round_trip(), READY_CHECK_TIMEOUT_S)

    # A loop of its own; closing it also closes the layer's connections for it.
    asyncio.run(bounded())


def _broker() -> None:
    from tutor.celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=READY_CHECK_TIMEOUT_S)


def _run_checks(checks: dict[str, Callable[[], None]]) -> dict[str, dict]:
    """Run each check in its own daemon thread; wait at most the timeout for all.

    A check that hangs (a firewalled Redis, a stuck TCP connect) is reported as
    timed out and left to finish on its own: the probe itself never hangs, and
    the web server's shared sync thread is never blocked by it.
    """
    results: dict[str, dict] = {}

    def run(name: str, check: Callable[[], None]) -> None:
        try:
            check()
            results[name] = {"ok": True}
        except Exception as exc:  # a readiness check reports failures, it never raises
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in checks.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + READY_CHECK_TIMEOUT_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for name in checks:
        results.setdefault(name, {"ok": False, "error": f"no answer within {READY_CHECK_TIMEOUT_S:g} s"})
    return {name: results[name] for name in checks}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 while the process serves requests. No dependency is called."""
    return JsonResponse({"status": "ok", "executor": settings.TURN_EXECUTOR})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: every dependency checked for real; 503 names each one that failed.

    In the embedded mode there is no broker: turns run in-process, and the
    broker is reported as not used rather than as healthy.
    """
    checks: dict[str, Callable[[], None]] = {
        "database": _database,
        "cache": _cache,
        "channel_layer": _channel_layer,
    }
    if settings.TURN_EXECUTOR == "celery":
        checks["broker"] = _broker
    results = _run_checks(checks)
    if settings.TURN_EXECUTOR != "celery":
        results["broker"] = {"ok": True, "mode": "not used (turns run in-process)"}
    failing = [name for name, result in results.items() if not result["ok"]]
    body = {
        "status": "ready" if not failing else "unavailable",
        "executor": settings.TURN_EXECUTOR,
        "failing": failing,
        "checks": results,
    }
    return JsonResponse(body, status=503 if failing else 200)

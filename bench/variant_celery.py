"""The product's Celery app with candidate worker-side changes patched in.

``celery -A bench.variant_celery worker ...`` with ``BENCH_VARIANTS`` set.
Settings-level changes apply at import; code patches apply in each pool
process once Django is set up (``worker_process_init``). Nothing here changes
product files.
"""

from __future__ import annotations

import asyncio
import math
import os

from celery.signals import worker_process_init

from tutor.celery import app

VARIANTS = set(filter(None, os.environ.get("BENCH_VARIANTS", "").split(",")))

if "db_reuse" in VARIANTS:
    # Celery's Django fixup closes every DB connection before and after every
    # task unless this is set (it ignores CONN_MAX_AGE), so each turn opens a
    # new PostgreSQL connection. In the product this is one setting:
    # CELERY_DB_REUSE_MAX in tutor/settings.py.
    app.conf.CELERY_DB_REUSE_MAX = 1000

_loop: asyncio.AbstractEventLoop | None = None


def _on_process_loop(fn):
    """Like async_to_sync, on one event loop per worker process, so the
    channel layer keeps its Redis connections between tasks."""

    def call(*args, **kwargs):
        global _loop
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
        return _loop.run_until_complete(fn(*args, **kwargs))

    return call


def _coarse(text: str, pieces: int = 3) -> list[str]:
    """At most ``pieces`` deltas per reply instead of one per word."""
    from tutor.dialogue.events import _TOKEN

    words = _TOKEN.findall(text)
    size = max(1, math.ceil(len(words) / pieces))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


@worker_process_init.connect
def _patch(**kwargs) -> None:
    """In each pool process, once Django is set up (models can be imported)."""
    from tutor.dialogue import events, tasks

    if "loop" in VARIANTS:
        tasks.async_to_sync = _on_process_loop
    if "coarse_deltas" in VARIANTS:
        events.split_deltas = _coarse


__all__ = ["app"]

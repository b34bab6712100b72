"""Where tutor turns run: on Celery workers, or inside the web process.

``settings.TURN_EXECUTOR`` picks one:

- ``celery``: the turn is a task on the ``agents`` queue. Workers may be on
  other machines; they publish replies through the Redis channel layer.
- ``inprocess``: the turn runs as an asyncio task on the web server's event
  loop, with its database work in Django's sync thread. This is the embedded
  mode: no broker, no worker, and the in-memory channel layer is only ever
  touched from the loop it lives on.

Both call the same ``run_turn_async``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging

from asgiref.sync import SyncToAsync, async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings

from tutor.dialogue.actions import turn_run
from tutor.dialogue.events import publish_replies, reply_events

log = logging.getLogger(__name__)
_running: set[asyncio.Task] = set()


def _run_and_describe(message_id: int) -> list[dict]:
    return reply_events(turn_run(message_id))


async def run_turn_async(message_id: int) -> None:
    events = await database_sync_to_async(_run_and_describe)(message_id)
    await publish_replies(events)


def turn_enqueue(message_id: int) -> None:
    """Hand a stored student message to the configured executor.

    Called from ``transaction.on_commit``, so the message is durable before
    any worker can look for it.
    """
    if settings.TURN_EXECUTOR == "celery":
        from tutor.dialogue.tasks import run_turn

        # The served model's turns run on the gpu queue, where the model is (docs/serving.md).
        if settings.TUTOR_BACKEND == "served":
            from tutor.tutormodels.tasks import generate_turn as run_turn
        try:
            run_turn.delay(message_id)
        except Exception:
            # The broker is down (Celery already retried the publish). The
            # message is stored and acknowledged: the sweeper
            # (turns_unanswered_sweep) or the browser's resend enqueues it
            # once the broker is back. Raising here would only close the
            # student's socket.
            log.exception("could not enqueue the turn of message %s; the sweeper will", message_id)
        return
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        # No live server loop behind us (a management command, a shell, or a
        # thread whose loop has since ended): answer now.
        async_to_sync(run_turn_async)(message_id)
        return
    # We are in a sync thread started by the web server's event loop (the
    # consumer called the action through database_sync_to_async); async_to_sync
    # hops back onto that loop, where the turn becomes a background task.
    async_to_sync(_spawn)(message_id)


async def _spawn(message_id: int) -> None:
    # A fresh context: the task must not inherit the caller's asgiref executor,
    # which is gone by the time the turn reaches the database.
    task = asyncio.get_running_loop().create_task(run_turn_async(message_id), context=contextvars.Context())
    _running.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("tutor turn failed", exc_info=task.exception())

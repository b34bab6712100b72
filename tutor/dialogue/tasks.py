"""Celery tasks of the dialogue app. They take ids, re-fetch, and delegate."""

from datetime import timedelta

from asgiref.sync import async_to_sync
from celery import shared_task
from celery.signals import task_prerun
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.db.models import Max
from django.utils import timezone

from tutor.dialogue.actions import turn_run
from tutor.dialogue.events import publish_replies, reply_events
from tutor.dialogue.models import Message

# Unanswered messages older than this are left alone by the sweeper.
SWEEP_WINDOW = timedelta(days=1)


@task_prerun.connect
def _drop_broken_db_connections(**kwargs) -> None:
    """Before every task, close a database connection that broke, as Django does per request.

    ``CELERY_DB_REUSE_MAX`` keeps a worker's connection across tasks, and
    Celery's Django fixup then looks at it only every 200 tasks: a connection
    PostgreSQL dropped (a restart, a failover, ``pg_terminate_backend``) would
    fail the next turn. ``close_old_connections`` closes one that had errors or
    outlived ``CONN_MAX_AGE`` and re-arms ``CONN_HEALTH_CHECKS``, so the next
    query checks the connection and reconnects if it is dead.
    """
    close_old_connections()


# A turn cut off by a database failure is retried (its transaction rolled back,
# so nothing of it was stored); acks_late alone would acknowledge the failure.
@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=3,
    default_retry_delay=1,
)
def run_turn(message_id: int) -> int:
    """Answer a stored student message. Safe to run twice: see ``turn_run``."""
    events = reply_events(turn_run(message_id))
    if events:
        async_to_sync(publish_replies)(events)
    return len(events)


def unanswered_turns() -> list[int]:
    """For each session, its latest student message still unanswered and old enough to be lost.

    Messages younger than ``TURN_SWEEP_AFTER_S`` are probably still queued,
    messages older than a day are left alone, and messages that already took
    ``TURN_MAX_ATTEMPTS`` attempts are left for a person to look at.
    """
    now = timezone.now()
    latest = (
        Message.objects.filter(
            role=Message.Role.STUDENT,
            reply__isnull=True,
            created_at__lt=now - timedelta(seconds=settings.TURN_SWEEP_AFTER_S),
            created_at__gte=now - SWEEP_WINDOW,
            turn_attempts__lt=settings.TURN_MAX_ATTEMPTS,
        )
        .values("session_id")
        .annotate(message_id=Max("id"))
    )
    return sorted(row["message_id"] for row in latest)


@shared_task(acks_late=True)
def turns_unanswered_sweep() -> int:
    """Enqueue again the turn of every session whose latest student message is still unanswered.

    The recovery path for a turn task lost on its way (the broker restarted
    without persistence, or it was down when the message was committed). One
    task per session is enough: a turn answers every earlier unanswered
    message of its session too.
    """
    from tutor.dialogue.executors import turn_enqueue

    message_ids = unanswered_turns()
    for message_id in message_ids:
        turn_enqueue(message_id)
    return len(message_ids)

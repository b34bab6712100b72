"""Celery tasks of the dialogue app. They take ids, re-fetch, and delegate."""

from asgiref.sync import async_to_sync
from celery import shared_task

from tutor.dialogue.actions import turn_run
from tutor.dialogue.events import publish_replies, reply_events


@shared_task(acks_late=True, max_retries=3, default_retry_delay=1)
def run_turn(message_id: int) -> int:
    """Answer a stored student message. Safe to run twice: see ``turn_run``."""
    events = reply_events(turn_run(message_id))
    if events:
        async_to_sync(publish_replies)(events)
    return len(events)

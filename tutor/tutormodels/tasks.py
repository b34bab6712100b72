"""Celery tasks of the tutor-model app: turns worded by the served model, on the ``gpu`` queue.

With ``TUTOR_BACKEND=served`` in the distributed mode, ``turn_enqueue``
sends each turn here instead of to ``run_turn`` on ``agents``: the whole turn
(``turn_run``) runs in the gpu worker, so the exactly-once machinery covers
it unchanged (the session row lock, the unique ``reply_to``, the committed
``turn_attempts`` counter, and acks_late + reject_on_worker_lost, which puts a
task back when its worker dies mid-generation). Run the worker with threads
(``make gpu-worker``: ``--pool threads --concurrency 8``) so concurrent
sessions' turns share one process and one batching engine.
"""

from asgiref.sync import async_to_sync
from celery import shared_task
from celery.signals import worker_init
from django.db import InterfaceError, OperationalError

from tutor.dialogue.actions import turn_run
from tutor.dialogue.events import publish_replies, reply_events


# As run_turn: a turn cut off by a database failure is retried (its transaction rolled back).
@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=3,
    default_retry_delay=1,
)
def generate_turn(message_id: int) -> int:
    """Answer a stored student message with the served model. Safe to run twice: see ``turn_run``."""
    events = reply_events(turn_run(message_id))
    if events:
        async_to_sync(publish_replies)(events)
    return len(events)


@worker_init.connect
def _import_model_code(sender=None, **kwargs) -> None:
    """In a threads-pool worker, import transformers' model classes once, before any task thread.

    transformers resolves its names lazily, and two threads doing so for the
    first time at once (a turn loading the tutor model, a passage task loading
    MiniLM) can fail with ``cannot import name 'AutoModel'``. Importing code
    initialises no device: the model itself still loads on the first turn.
    """
    if "thread" not in str(getattr(sender, "pool_cls", "")):  # celery.concurrency.thread.TaskPool
        return
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer  # noqa: F401

"""The Celery app. Workers consume the ``agents`` (CPU) and ``gpu`` queues.

celery -A tutor worker -Q agents
celery -A tutor worker -Q gpu --pool threads --concurrency 8   # one model, one batching engine (docs/serving.md)
"""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutor.settings")

app = Celery("tutor")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _warm_up(**kwargs) -> None:
    """Each worker process loads the tutor's text models before its first turn."""
    from tutor.dialogue.tutoring import warm_up_in_background

    warm_up_in_background()

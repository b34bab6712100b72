"""The Celery app. Workers consume the ``agents`` (CPU) and ``gpu`` queues.

celery -A tutor worker -Q agents
celery -A tutor worker -Q gpu --concurrency 1
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutor.settings")

app = Celery("tutor")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

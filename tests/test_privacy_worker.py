"""The privacy beat tasks on a real Celery worker, through Redis, on PostgreSQL.

The test process sends the tasks the way beat does (routed by
``CELERY_TASK_ROUTES`` to the ``agents`` queue); a separate worker process
runs them against the same test database. Skipped unless DATABASE_URL is
PostgreSQL and REDIS_URL is set, as in CI.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.markers import needs_postgres_and_redis
from tests.test_celery_worker import WORKER_TIMEOUT, celery_worker  # noqa: F401 - the worker fixture
from tutor.dialogue.actions import session_start
from tutor.dialogue.models import TutorSession
from tutor.privacy import actions
from tutor.privacy.models import DeletionRequest
from tutor.privacy.tasks import privacy_deletions_due, transcripts_purge

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.django_db(transaction=True),
    needs_postgres_and_redis,
]


def wait_for(check) -> bool:
    deadline = time.monotonic() + WORKER_TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_the_worker_runs_a_due_deletion(celery_worker, alice, demo_problem, settings):  # noqa: F811
    settings.PRIVACY_DELETION_COOL_OFF_DAYS = 0  # the worker reads its own settings: due_at is set here
    session_start(student=alice, problem=demo_problem)
    deletion = actions.deletion_request(actor=alice, subject=alice)
    privacy_deletions_due.delay()
    assert wait_for(lambda: DeletionRequest.objects.get(pk=deletion.pk).status == "done")
    done = DeletionRequest.objects.get(pk=deletion.pk)
    assert done.attempts == 1 and done.counts["dialogue_tutorsession"] == 1
    assert not TutorSession.objects.filter(pk__isnull=False).exists()


def test_the_worker_purges_old_transcripts(celery_worker, alice, demo_problem):  # noqa: F811
    old = session_start(student=alice, problem=demo_problem)
    TutorSession.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    old.messages.update(created_at=timezone.now() - timedelta(days=400))
    transcripts_purge.delay()  # the worker's default retention: 365 days
    assert wait_for(lambda: not TutorSession.objects.filter(pk=old.pk).exists())

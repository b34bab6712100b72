"""With Celery, a busy student's turns schedule one dashboard refresh per window, not one each."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tutor.celery import app
from tutor.coaching.actions import _refresh_schedule, refresh_debounce_key
from tutor.coaching.tasks import refresh_student


def _queued() -> int:
    with app.connection_for_read() as conn:
        return conn.default_channel.queue_declare("agents", passive=True).message_count


@pytest.fixture
def agents_queue(settings):
    settings.TURN_EXECUTOR = "celery"
    settings.COACHING_REFRESH_INLINE = False
    settings.COACHING_REFRESH_DEBOUNCE_S = 10
    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare("agents")
        conn.default_channel.queue_purge("agents")
    yield
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("agents")


def test_many_turns_in_a_window_schedule_one_refresh(agents_queue, alice):
    cache.delete(refresh_debounce_key(alice.pk, "fractions"))
    for _ in range(5):
        _refresh_schedule(alice.pk, "fractions")
    assert _queued() == 1


def test_a_turn_after_the_refresh_started_schedules_the_next_one(agents_queue, alice):
    cache.delete(refresh_debounce_key(alice.pk, "fractions"))
    _refresh_schedule(alice.pk, "fractions")
    refresh_student(alice.pk, "fractions")  # the scheduled task runs: it clears the key before reading
    _refresh_schedule(alice.pk, "fractions")
    assert _queued() == 2


def test_each_student_gets_their_own_window(agents_queue, alice, bob):
    for student in (alice, bob):
        cache.delete(refresh_debounce_key(student.pk, "fractions"))
        _refresh_schedule(student.pk, "fractions")
    assert _queued() == 2

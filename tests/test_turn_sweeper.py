"""turns_unanswered_sweep: the recovery path for turn tasks lost on their way.

A student message can be stored and acknowledged while its turn task is lost
(Redis restarted without persistence, or down when the message committed).
The sweeper (a beat task) enqueues, for each session, the latest student
message still unanswered after ``TURN_SWEEP_AFTER_S``; that turn answers every
earlier one too. ``tests/test_chaos.py`` shows it rescuing a turn lost in a
real Redis restart, through a real worker; these tests pin down which
messages it picks (``unanswered_turns``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tutor.dialogue.actions import turn_run
from tutor.dialogue.models import Message
from tutor.dialogue.tasks import unanswered_turns

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sweep_settings(settings):
    settings.TURN_SWEEP_AFTER_S = 60
    settings.TURN_MAX_ATTEMPTS = 5
    settings.TUTOR_TEXT_SIMILARITY = "lexical"


def stored_without_turn(session, client_id: str, text: str, *, age_s: float, attempts: int = 0) -> Message:
    """A message as a lost task leaves it: stored, acknowledged, never answered."""
    session.refresh_from_db(fields=["last_seq"])
    session.last_seq += 1
    session.save(update_fields=["last_seq"])
    message = Message.objects.create(
        session=session, seq=session.last_seq, role="student", kind="answer", text=text, client_id=client_id
    )
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(seconds=age_s), turn_attempts=attempts
    )
    return message


def replies(message: Message) -> int:
    return Message.objects.filter(reply_to=message).count()


def test_sweep_picks_the_latest_lost_message_of_each_session_and_its_turn_answers_all(alice_session):
    first = stored_without_turn(alice_session, "lost-1", "12", age_s=300)
    second = stored_without_turn(alice_session, "lost-2", "8", age_s=120)
    assert unanswered_turns() == [second.pk]
    turn_run(second.pk)  # what the enqueued task runs
    assert replies(first) == 1 and replies(second) == 1
    assert Message.objects.get(reply_to=first).seq < Message.objects.get(reply_to=second).seq
    assert unanswered_turns() == []  # nothing left for the next sweep


def test_sweep_leaves_young_messages_to_their_queued_task(alice_session):
    stored_without_turn(alice_session, "young", "12", age_s=5)
    assert unanswered_turns() == []


def test_sweep_gives_up_on_a_message_after_the_maximum_attempts(alice_session):
    stored_without_turn(alice_session, "stuck", "12", age_s=300, attempts=5)
    assert unanswered_turns() == []


def test_sweep_ignores_messages_older_than_a_day(alice_session):
    stored_without_turn(alice_session, "ancient", "12", age_s=2 * 86400)
    assert unanswered_turns() == []

"""Flagging a tutor turn as wrong: stored with the turn's record, for the model's next training round."""

from __future__ import annotations

import pytest

from tests.coaching_data import say
from tests.conftest import login
from tutor.coaching.actions import CoachingError, turn_flag_create
from tutor.coaching.models import TurnFlag
from tutor.coaching.selectors import turn_flags_for_training

pytestmark = pytest.mark.django_db


def flag_url(session) -> str:
    return f"/teach/coaching/sessions/{session.pk}/flag/"


def test_teacher_flags_a_tutor_turn_with_a_reason(client, tess, alice_session):
    reply = say(alice_session, "12")
    response = login(client, tess).post(
        flag_url(alice_session), {"message": reply.pk, "reason": "The hint gives away the answer"}, follow=True
    )
    assert response.status_code == 200
    [flag] = TurnFlag.objects.all()
    assert flag.flagged_by == tess and flag.record["misconception"] == "sum-of-denominators"
    assert "next training round" in response.content.decode()
    assert "Flagged: The hint gives away the answer" in response.content.decode()


def test_flags_are_exported_as_training_examples(tess, alice_session):
    reply = say(alice_session, "12")
    turn_flag_create(message=reply, by=tess, reason="too vague")
    [example] = turn_flags_for_training()
    assert example["student_text"] == "12" and example["tutor_text"] == reply.text
    assert example["reason"] == "too vague" and example["record"]["evaluation"] == "a"


def test_flagging_again_updates_the_reason(tess, alice_session):
    reply = say(alice_session, "12")
    turn_flag_create(message=reply, by=tess, reason="first")
    turn_flag_create(message=reply, by=tess, reason="second")
    assert list(TurnFlag.objects.values_list("reason", flat=True)) == ["second"]


def test_a_flag_needs_a_reason(client, tess, alice_session):
    reply = say(alice_session, "12")
    with pytest.raises(CoachingError, match="reason is required"):
        turn_flag_create(message=reply, by=tess, reason="  ")
    response = login(client, tess).post(flag_url(alice_session), {"message": reply.pk, "reason": ""}, follow=True)
    assert f"Turn #{reply.seq}: say what was wrong" in response.content.decode()
    assert not TurnFlag.objects.exists()


def test_student_messages_cannot_be_flagged(tess, alice_session):
    reply = say(alice_session, "12")
    with pytest.raises(CoachingError, match="only a tutor turn"):
        turn_flag_create(message=reply.reply_to, by=tess, reason="x")


def test_transcript_page_shows_labels_and_flag_forms(client, tess, alice_session):
    say(alice_session, "12")
    html = login(client, tess).get(f"/teach/coaching/sessions/{alice_session.pk}/").content.decode()
    assert "sum-of-denominators" in html and "Flag turn" in html and "Evaluation" in html


def test_teacher_cannot_flag_or_read_other_class_session(client, trent, alice_session):
    reply = say(alice_session, "12")
    login(client, trent)
    assert client.get(f"/teach/coaching/sessions/{alice_session.pk}/").status_code == 404
    assert client.post(flag_url(alice_session), {"message": reply.pk, "reason": "x"}).status_code == 404
    assert not TurnFlag.objects.exists()


def test_student_cannot_flag_own_session(client, alice, alice_session):
    reply = say(alice_session, "12")
    assert login(client, alice).post(flag_url(alice_session), {"message": reply.pk, "reason": "x"}).status_code == 404

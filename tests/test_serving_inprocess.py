"""The served engine in the embedded mode (``TUTOR_BACKEND=turnmodel``): live deltas, token budget, retry cap.

Turns run on the in-process executor through the real ASGI stack, worded by
the tiny random Llama of ``test_llm_backends`` (nonsense words, real
plumbing), so these run in both the SQLite and the PostgreSQL+Redis modes.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from models.llm.turnformat import HINT_BUTTON
from tests.test_llm_backends import _save_tiny_model
from tests.test_session_socket import TIMEOUT, open_socket, say
from tutor.agents.llm.served import STUDENT_WORDS_MARK
from tutor.dialogue.actions import student_message_post, turn_run
from tutor.dialogue.models import Message
from tutor.security.ratelimit import llm_tokens_remaining
from tutor.tutormodels.serving import turn_verbaliser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("served-tiny")
    _save_tiny_model(directory)
    return str(directory)


@pytest.fixture(autouse=True)
def _turn_model_in_process(settings, tiny_dir):
    settings.TUTOR_BACKEND = "turnmodel"
    settings.TUTOR_BACKEND_OPTIONS = {"base_dir": tiny_dir, "dtype": "float32", "max_new_tokens": 12}
    settings.LLM_TOKENS_PER_USER_PER_DAY = 10_000


def _reply(session, seq: int) -> Message:
    return Message.objects.get(session=session, reply_to__seq=seq)


async def test_a_model_reply_streams_live_then_the_stored_message_follows(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    before = await database_sync_to_async(llm_tokens_remaining)(alice.pk)
    events = await say(comm, "m-1", "12", timeout=60)
    deltas = [e for e in events if e["type"] == "delta"]
    reply = await database_sync_to_async(_reply)(alice_session, events[0]["seq"])
    assert reply.record["backend"] == "turnmodel"
    assert deltas and [d["index"] for d in deltas] == list(range(len(deltas)))
    if reply.record["guard"] == "passed":
        assert "".join(d["text"] for d in deltas).strip() == reply.text
    # The same words are not streamed a second time after the commit.
    assert sum(e["type"] == "message" and e["role"] == "tutor" for e in events) == 1
    spent = before - await database_sync_to_async(llm_tokens_remaining)(alice.pk)
    assert 0 < spent <= 12  # the reply's generated tokens were charged
    await comm.disconnect()


async def test_a_student_without_tokens_left_gets_the_scripted_words(alice, alice_session, settings):
    settings.LLM_TOKENS_PER_USER_PER_DAY = 0
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    events = await say(comm, "b-1", "12", timeout=60)
    reply = await database_sync_to_async(_reply)(alice_session, events[0]["seq"])
    assert reply.record["backend"] == "scripted-budget"
    assert reply.record["misconception"] == "sum-of-denominators"  # the policy still decided the turn
    await comm.disconnect()


def test_a_turn_tried_too_often_is_worded_by_the_scripted_verbaliser(alice, alice_session, settings):
    settings.TUTOR_SERVED_MAX_ATTEMPTS = 2
    assert turn_verbaliser(alice.pk, alice_session.pk, attempts=2).name == "turnmodel"
    assert turn_verbaliser(alice.pk, alice_session.pk, attempts=3).name == "scripted-retry"


def test_the_turn_model_sees_the_conversation_so_far(alice, alice_session, monkeypatch):
    import models.llm.turnformat as turnformat

    seen = []
    real = turnformat.build_messages

    def spy(ctx):
        if ctx.text != STUDENT_WORDS_MARK:  # a turn, not the prefill of the next one
            seen.append(ctx.history)
        return real(ctx)

    monkeypatch.setattr(turnformat, "build_messages", spy)
    for client_id, text, kind in [("h-1", "12", "answer"), ("h-2", "", "hint_request"), ("h-3", "6", "answer")]:
        turn_run(student_message_post(session=alice_session, client_id=client_id, text=text, kind=kind).message.pk)
    said = list(Message.objects.filter(session=alice_session).order_by("seq"))
    opening, first, first_reply, hint, hint_reply = said[:5]
    assert seen[0] == ((opening.role, opening.text),)
    assert seen[1] == ((opening.role, opening.text), ("student", "12"), ("tutor", first_reply.text))
    # The last four messages, a hint request as the model was trained to see one.
    assert seen[2] == (
        ("student", "12"),
        ("tutor", first_reply.text),
        ("student", HINT_BUTTON),
        ("tutor", hint_reply.text),
    )
    assert first.text == "12" and hint.kind == "hint_request"


def test_the_next_turn_is_prefilled_up_to_the_students_words(alice, alice_session, monkeypatch):
    from models.llm.serving import Engine

    admitted = []
    real = Engine._admit
    monkeypatch.setattr(Engine, "_admit", lambda engine, request: admitted.append(request) or real(engine, request))
    for client_id, text in [("p-1", "12"), ("p-2", "6")]:
        turn_run(student_message_post(session=alice_session, client_id=client_id, text=text).message.pk)
    first, ahead, second = admitted[:3]
    assert first.max_new_tokens > 0 and ahead.max_new_tokens == 0 and second.max_new_tokens > 0
    assert ahead.cache_key == second.cache_key == f"session-{alice_session.pk}"
    assert second.ids[: len(ahead.ids)] == ahead.ids  # what was prefilled is the next prompt's start
    assert second.reused_tokens == len(ahead.ids)  # so the turn prefilled only the student's words and after

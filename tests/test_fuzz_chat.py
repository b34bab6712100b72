"""Fuzzing the chat message handler with hypothesis: every bad frame answered, every good one answered once.

Two entry points:

- the real ``SessionConsumer`` through the ASGI stack (``WebsocketCommunicator``),
  fed random frames: binary, invalid JSON, JSON that is not an object, wrong
  types, missing fields, unknown event types, oversized frames and texts,
  odd unicode, client_ids repeated within and across examples. Each frame
  gets exactly one immediate answer, the one the protocol documents (an
  ``ack``, a ``pong``, or an ``error`` whose ``code`` names the problem and
  whose ``detail`` says it in words); the socket never closes over a bad
  frame; every accepted message is stored once and answered once, on the
  socket and in the database; nothing else is written;
- ``student_message_post()`` called directly with random texts, kinds and
  client_ids: a ``PostError`` with its code, or a message stored exactly once
  with exactly one tutor reply, and a resend with the same client_id is a
  duplicate that stores nothing.

Turns run on the in-process executor with lexical text matching (no model
to load); what is fuzzed is the handler, not the answer checker. Rate limits
are switched off here (``tests/test_rate_limits.py`` tests them). Schemathesis
is not used: there is no OpenAPI schema. Examples are derandomized and
hypothesis keeps no example database, so CI runs the same cases every time.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.test_session_socket import open_socket
from tutor.dialogue.actions import PostError, student_message_post, turn_run
from tutor.dialogue.models import Message, TutorSession

pytestmark = pytest.mark.django_db(transaction=True)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
TIMEOUT = 10


@pytest.fixture(autouse=True)
def _quick_turns(settings):
    settings.TURN_EXECUTOR = "inprocess"
    settings.TUTOR_TEXT_SIMILARITY = "lexical"
    settings.RATE_LIMIT_CHAT_USER = (0, 60)
    settings.RATE_LIMIT_CHAT_SOCKET = (0, 60)


# --- frames -------------------------------------------------------------------------------------------

odd_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "   ", "\x00", "\u202e7/8", "💥", "null", "7/8", "12", "a" * 4000, "b" * 4001]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), odd_text)
garbage = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(odd_text, inner, max_size=3)),
    max_leaves=6,
)
client_ids = st.one_of(
    st.sampled_from(["dup-1", "dup-2", "", "  ", "x" * 64, "x" * 65]), st.text(max_size=70), st.none(), st.integers()
)
types = st.one_of(
    st.sampled_from(["student_message", "student_message", "hint_request", "ping", "", "ack", "STUDENT_MESSAGE"]),
    garbage,
)
events = st.fixed_dictionaries(
    {"type": types}, optional={"client_id": client_ids, "text": st.one_of(odd_text, garbage), "nonce": garbage}
)
frames = st.one_of(
    events.map(lambda e: ("text", json.dumps(e))),
    garbage.map(lambda v: ("text", json.dumps(v))),
    st.text(max_size=60).map(lambda t: ("text", t)),
    st.binary(max_size=60).map(lambda b: ("bytes", b)),
    st.sampled_from(
        [("text", "x" * (django_settings.FRAME_MAX_CHARS + 1)), ("text", "{"), ("text", "[]"), ("text", "NaN")]
    ),
)


def expected(kind: str, payload) -> str:
    """The documented answer to one frame (docs/architecture.md "One student turn"; consumers.py)."""
    if kind == "bytes":
        return "error:binary_not_supported"
    if len(payload) > django_settings.FRAME_MAX_CHARS:
        return "error:frame_too_large"
    try:
        data = json.loads(payload)
    except json.JSONDecodeError:
        return "error:invalid_json"
    if not isinstance(data, dict):
        return "error:invalid_event"
    event_type = data.get("type")
    if event_type == "ping":
        return "pong"
    if event_type == "student_message":
        text, message_kind = data.get("text"), "answer"
    elif event_type == "hint_request":
        text, message_kind = "Can I have a hint?", "hint_request"
    else:
        return "error:unknown_type"
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip():
        return "error:missing_client_id"
    if len(client_id) > 64 or "\x00" in client_id:
        return "error:invalid_client_id"
    if not isinstance(text, str):
        return "error:invalid_text"
    if len(text) > django_settings.MESSAGE_MAX_CHARS:
        return "error:message_too_long"
    if "\x00" in text:  # PostgreSQL cannot store it
        return "error:invalid_text"
    if message_kind == "answer" and not text.strip():
        return "error:empty_message"
    return "ack"


async def answer_to_frame(comm, seen: list[dict]) -> dict:
    """The frame's own answer; the session's messages and deltas arriving meanwhile go to ``seen``."""
    while True:
        event = await comm.receive_json_from(timeout=TIMEOUT)
        if event["type"] in ("message", "delta"):
            seen.append(event)
        else:
            return event


def snapshot(session: TutorSession) -> dict:
    return {
        "seq": TutorSession.objects.get(pk=session.pk).last_seq,
        "messages": Message.objects.count(),
        "sessions": TutorSession.objects.count(),
    }


async def converse(user, session, sent: list[tuple[str, object]]) -> None:
    before = await database_sync_to_async(snapshot)(session)
    comm, connected, _ = await open_socket(user, session, last_seq=before["seq"])
    assert connected
    seen: list[dict] = []
    accepted: list[int] = []
    for kind, payload in sent:
        want = expected(kind, payload)
        duplicate = False
        if want == "ack":
            client_id = json.loads(payload)["client_id"]
            duplicate = await database_sync_to_async(
                Message.objects.filter(session=session, client_id=client_id).exists
            )()
        # The raw ASGI event, as the server delivers it (send_to refuses empty frames).
        await comm.send_input({"type": "websocket.receive", kind: payload})
        answer = await answer_to_frame(comm, seen)
        if want == "ack":
            assert answer["type"] == "ack" and answer["duplicate"] is duplicate, (payload[:200], answer)
            if not duplicate:
                accepted.append(answer["seq"])
        elif want == "pong":
            assert answer["type"] == "pong", answer
        else:
            assert answer["type"] == "error" and f"error:{answer['code']}" == want, (payload[:200], answer)
            assert isinstance(answer["detail"], str) and len(answer["detail"]) > 10

    def replies_seen() -> dict[int, int]:
        counts = dict.fromkeys(accepted, 0)
        for event in seen:
            if event["type"] == "message" and event["role"] == "tutor" and event["reply_to"] in counts:
                counts[event["reply_to"]] += 1
        return counts

    while 0 in replies_seen().values():
        seen.append(await comm.receive_json_from(timeout=TIMEOUT))
    # The socket is still open and still answering.
    await comm.send_json_to({"type": "ping", "nonce": "end"})
    assert await answer_to_frame(comm, seen) == {"type": "pong", "nonce": "end"}
    await comm.disconnect()
    assert set(replies_seen().values()) <= {1}, "each accepted message was answered once on the socket"

    after = await database_sync_to_async(snapshot)(session)
    assert after["sessions"] == before["sessions"]
    assert after["messages"] - before["messages"] == 2 * len(accepted), "one message and one reply each, nothing else"

    def stored_once_with_one_reply() -> None:
        for seq in accepted:
            message = Message.objects.get(session=session, seq=seq, role="student")
            assert Message.objects.filter(reply_to=message).count() == 1

    await database_sync_to_async(stored_once_with_one_reply)()


@FUZZ
@given(sent=st.lists(frames, min_size=1, max_size=6))
@example(sent=[("text", json.dumps({"type": "student_message", "client_id": "dup-1", "text": "12"}))] * 2)
@example(sent=[("text", json.dumps({"type": "student_message", "client_id": "c", "text": ["12"]}))])
@example(sent=[("text", json.dumps({"type": ["ping"]})), ("bytes", b"\x00")])
# A NUL character: PostgreSQL refused to store it (DataError) before the action refused it.
@example(sent=[("text", json.dumps({"type": "student_message", "client_id": "n-1", "text": "7\x00/8"}))])
@example(sent=[("text", json.dumps({"type": "student_message", "client_id": "n\x00", "text": "7/8"}))])
def test_every_frame_gets_its_documented_answer_and_accepted_messages_one_reply(alice, alice_session, sent):
    async_to_sync(converse)(alice, alice_session, sent)


@pytest.mark.django_db  # one transaction: after-commit work (the enqueue) never runs, the test runs the turn
@FUZZ
@given(
    text=st.one_of(odd_text, garbage),
    client_id=client_ids,
    kind=st.one_of(st.sampled_from(["answer", "hint_request", "tutor", ""]), garbage),
)
@example(text="12", client_id="dup-1", kind="answer")
@example(text="", client_id="c-1", kind="hint_request")  # a hint request needs no text
@example(text="\x00", client_id="nul", kind="answer")  # PostgreSQL cannot store a NUL
def test_student_message_post_stores_once_and_answers_once_or_refuses(alice_session, text, client_id, kind):
    before = Message.objects.count()
    try:
        posted = student_message_post(session=alice_session, client_id=client_id, text=text, kind=kind)
    except PostError as exc:
        assert exc.code and len(exc.detail) > 10
        assert Message.objects.count() == before, "a refused message is not stored"
        return
    message = posted.message
    assert Message.objects.count() == before + (0 if posted.duplicate else 1)
    assert Message.objects.filter(session=alice_session, client_id=client_id).count() == 1
    turn_run(message.pk)
    turn_run(message.pk)  # a redelivered turn answers nothing
    assert Message.objects.filter(reply_to=message).count() == 1
    again = student_message_post(session=alice_session, client_id=client_id, text=text, kind=kind)
    assert again.duplicate and again.message.pk == message.pk
    assert Message.objects.filter(session=alice_session, client_id=client_id).count() == 1

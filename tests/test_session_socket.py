"""The session WebSocket, end to end through the real ASGI stack.

Each test connects through ``tutor.asgi.application`` (origin check, cookie
auth, URL routing) with Channels' WebsocketCommunicator, and turns run on the
in-process executor, so every property here is the one a browser sees.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tutor.asgi import application
from tutor.dialogue.models import Message

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 5


@pytest.fixture(autouse=True)
def _inprocess_turns(settings):
    settings.TURN_EXECUTOR = "inprocess"


def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def open_socket(user, session, *, last_seq: int | None = None, origin: bytes = b"http://testserver"):
    headers = [(b"origin", origin)]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(_cookie)(user)))
    path = f"/ws/sessions/{session.pk}/" + (f"?last_seq={last_seq}" if last_seq is not None else "")
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await comm.connect(timeout=TIMEOUT)
    return comm, connected, code


async def receive_until_reply(comm, student_seq: int, timeout: float = TIMEOUT) -> list[dict]:  # noqa: ASYNC109
    """Every event up to and including the tutor message answering ``student_seq``."""
    events = []
    while True:
        event = await comm.receive_json_from(timeout=timeout)
        events.append(event)
        if event["type"] == "message" and event["role"] == "tutor" and event["reply_to"] == student_seq:
            return events


async def say(comm, client_id: str, text: str, timeout: float = TIMEOUT) -> list[dict]:  # noqa: ASYNC109
    await comm.send_json_to({"type": "student_message", "client_id": client_id, "text": text})
    ack = await comm.receive_json_from(timeout=timeout)
    assert ack["type"] == "ack", ack
    return [ack, *await receive_until_reply(comm, ack["seq"], timeout)]


def count(**filters) -> int:
    return Message.objects.filter(**filters).count()


async def test_connect_replays_the_greeting(alice, alice_session):
    comm, connected, _ = await open_socket(alice, alice_session)
    assert connected
    greeting = await comm.receive_json_from(timeout=TIMEOUT)
    assert greeting["seq"] == 1 and greeting["role"] == "tutor" and "Maya ran" in greeting["text"]
    assert greeting["progress"] == {"subproblem": 0, "of": 3, "done": False}
    await comm.disconnect()


async def test_message_sent_twice_with_same_client_id_is_stored_once(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)  # greeting
    first = await say(comm, "c-1", "12")
    await comm.send_json_to({"type": "student_message", "client_id": "c-1", "text": "12"})
    again = await comm.receive_json_from(timeout=TIMEOUT)
    assert first[0] == {"type": "ack", "client_id": "c-1", "seq": 2, "duplicate": False}
    assert again == {"type": "ack", "client_id": "c-1", "seq": 2, "duplicate": True}
    assert await comm.receive_nothing(timeout=0.3)  # no second turn
    assert await database_sync_to_async(count)(session=alice_session, client_id="c-1") == 1
    assert await database_sync_to_async(count)(session=alice_session, role="tutor") == 2  # greeting + one reply
    await comm.disconnect()


async def test_reconnect_with_last_seq_receives_exactly_the_missed_messages(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    await say(comm, "c-1", "12")  # seq 2 (student), 3 (tutor)
    await comm.disconnect()

    other_tab, _, _ = await open_socket(alice, alice_session, last_seq=3)
    await say(other_tab, "c-2", "8")  # seq 4, 5 while the first socket is away
    await say(other_tab, "c-3", "hmm")  # seq 6, 7
    await other_tab.disconnect()

    comm, connected, _ = await open_socket(alice, alice_session, last_seq=3)
    assert connected
    replayed = [await comm.receive_json_from(timeout=TIMEOUT) for _ in range(4)]
    assert [e["seq"] for e in replayed] == [4, 5, 6, 7]
    assert [e["role"] for e in replayed] == ["student", "tutor", "student", "tutor"]
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_tutor_reply_streams_as_deltas_before_the_stored_message(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    events = await say(comm, "c-1", "5")
    deltas = [e for e in events if e["type"] == "delta"]
    final = events[-1]
    assert len(deltas) >= 3
    assert [d["index"] for d in deltas] == list(range(len(deltas)))
    assert "".join(d["text"] for d in deltas) == final["text"]
    assert final["record"]["evaluation"] == "a" and final["record"]["action"] == 1
    stored = await database_sync_to_async(Message.objects.get)(session=alice_session, seq=final["seq"])
    assert stored.text == final["text"] and stored.reply_to_id is not None
    await comm.disconnect()


async def test_correct_answers_finish_the_problem(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    for i, answer in enumerate(["8", "6", "7/8"]):
        final = (await say(comm, f"c-{i}", answer))[-1]
    assert final["progress"] == {"subproblem": 2, "of": 3, "done": True}
    assert final["record"]["subproblem_state"] == "z"
    await database_sync_to_async(alice_session.refresh_from_db)()
    assert alice_session.status == "done" and alice_session.finished_at is not None
    await comm.disconnect()


async def test_hint_request_gets_the_authored_hint(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    await comm.send_json_to({"type": "hint_request", "client_id": "h-1"})
    ack = await comm.receive_json_from(timeout=TIMEOUT)
    final = (await receive_until_reply(comm, ack["seq"]))[-1]
    assert "Look for the smallest number that both 4 and 8 divide" in final["text"]
    assert final["record"]["action"] == 8
    await comm.disconnect()


async def test_oversized_message_is_refused_and_nothing_is_stored(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    await comm.send_json_to({"type": "student_message", "client_id": "big", "text": "x" * 4001})
    error = await comm.receive_json_from(timeout=TIMEOUT)
    assert error["type"] == "error" and error["code"] == "message_too_long"
    assert "4001 characters" in error["detail"] and "4000" in error["detail"]
    assert error["client_id"] == "big"
    assert await database_sync_to_async(count)(session=alice_session, role="student") == 0
    assert (await say(comm, "ok", "8"))[0]["seq"] == 2  # still usable; no seq was burnt
    await comm.disconnect()


async def test_huge_frame_is_refused_before_parsing(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    await comm.send_to(text_data=json.dumps({"type": "student_message", "client_id": "x", "text": "y" * 20000}))
    error = await comm.receive_json_from(timeout=TIMEOUT)
    assert error["code"] == "frame_too_large"
    assert await database_sync_to_async(count)(session=alice_session, role="student") == 0
    await comm.disconnect()


async def test_invalid_json_gets_an_error_and_the_socket_stays_usable(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    await comm.send_to(text_data='{"type": "student_message", text: oops')
    error = await comm.receive_json_from(timeout=TIMEOUT)
    assert error["type"] == "error" and error["code"] == "invalid_json"
    assert "line 1 column" in error["detail"]
    events = await say(comm, "after", "8")
    assert events[-1]["record"]["evaluation"] == "b"
    await comm.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('["student_message"]', "invalid_event"),
        ('{"type": "shout"}', "unknown_type"),
        ('{"type": "student_message", "text": "8"}', "missing_client_id"),
        ('{"type": "student_message", "client_id": "e", "text": "   "}', "empty_message"),
        ('{"type": "student_message", "client_id": "e", "text": 8}', "invalid_text"),
    ],
)
async def test_malformed_events_are_named_and_store_nothing(alice, alice_session, frame, code):
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    await comm.send_to(text_data=frame)
    error = await comm.receive_json_from(timeout=TIMEOUT)
    assert error["type"] == "error" and error["code"] == code, error
    assert await database_sync_to_async(count)(session=alice_session, role="student") == 0
    await comm.disconnect()


async def test_mallory_cannot_open_alices_session_socket(mallory, alice_session):
    comm, connected, code = await open_socket(mallory, alice_session)
    assert not connected and code == 4403


async def test_anonymous_socket_is_refused(alice_session):
    comm, connected, code = await open_socket(None, alice_session)
    assert not connected and code == 4401


async def test_cross_origin_socket_is_refused(alice, alice_session):
    comm, connected, _ = await open_socket(alice, alice_session, origin=b"http://evil.example")
    assert not connected


async def test_teacher_watches_but_cannot_speak_in_a_students_session(tess, alice, alice_session):
    watcher, connected, _ = await open_socket(tess, alice_session)
    assert connected
    assert (await watcher.receive_json_from(timeout=TIMEOUT))["seq"] == 1
    await watcher.send_json_to({"type": "student_message", "client_id": "t-1", "text": "8"})
    error = await watcher.receive_json_from(timeout=TIMEOUT)
    assert error["code"] == "forbidden"
    assert await database_sync_to_async(count)(session=alice_session, role="student") == 0

    student, _, _ = await open_socket(alice, alice_session, last_seq=1)
    await say(student, "a-1", "8")
    seen = [await watcher.receive_json_from(timeout=TIMEOUT) for _ in range(2)]
    messages = [e for e in seen if e["type"] == "message"]
    assert messages and messages[0]["role"] == "student" and messages[0]["text"] == "8"
    await student.disconnect()
    await watcher.disconnect()


async def test_ping_is_answered_without_touching_the_session(alice, alice_session):
    comm, _, _ = await open_socket(alice, alice_session, last_seq=1)
    await comm.send_json_to({"type": "ping", "nonce": "n1"})
    assert await comm.receive_json_from(timeout=TIMEOUT) == {"type": "pong", "nonce": "n1"}
    await comm.disconnect()

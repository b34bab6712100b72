"""The served tutor model on a real ``gpu``-queue Celery worker, streaming live to a real WebSocket.

The test process is the web side (``tutor.asgi`` through Channels'
communicator, the Redis channel layer); a ``celery worker -Q gpu --pool
threads`` subprocess runs the turns with ``TUTOR_BACKEND=served`` on the real
SmolLM2 (converted once per test run, ``tests/llm_fixtures.py``), against the
same PostgreSQL test database. Skipped unless DATABASE_URL is PostgreSQL and
REDIS_URL is set, as in CI.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.utils import timezone

from tests.llm_fixtures import smollm2_dir
from tests.markers import needs_postgres_and_redis
from tests.test_celery_worker import _database_url
from tests.test_session_socket import open_socket, receive_until_reply
from tutor.dialogue.models import Message

ROOT = Path(__file__).resolve().parent.parent
# A 2-core machine shared with other work: loading the model and prefilling
# the first prompt can take tens of seconds. These tests check what arrives.
SLOW = 180

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.django_db(transaction=True),
    needs_postgres_and_redis,
]


@pytest.fixture(autouse=True)
def _served_turns_on_the_gpu_queue(settings):
    settings.TURN_EXECUTOR = "celery"
    settings.TUTOR_BACKEND = "served"  # turn_enqueue sends turns to generate_turn on `gpu`
    settings.INDEX_PASSAGES = "off"  # no embedding task competes with the turns on the gpu queue


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory) -> Path:
    return smollm2_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def data_dir(smollm2) -> Path:
    return smollm2.parent.parent  # resolve_base(None, DATA_DIR) finds it there


@pytest.fixture
def start_worker(django_db_setup, data_dir, smollm2, tmp_path):
    """Start gpu-queue workers (threads pool) on the test database; all are stopped after the test."""
    from tutor.celery import app

    app.control.purge()
    procs: list[subprocess.Popen] = []

    def start(**env_extra: str) -> subprocess.Popen:
        name = f"gpu-test-{uuid.uuid4().hex[:8]}@localhost"
        env = (
            os.environ
            | {
                "DATABASE_URL": _database_url(),
                "TURN_EXECUTOR": "celery",
                "TUTOR_BACKEND": "served",
                "DATA_DIR": str(data_dir),
                # The shipped adapter, as `make run` serves: it answers in sentences. The untuned base
                # sometimes answers "12" to "12" or a hint request with one letter, too short to see a
                # reply stream live or to kill a worker in the middle of it.
                "TUTOR_SERVED_BASE_DIR": str(smollm2),
                "TUTOR_SERVED_ADAPTER_DIR": str(ROOT / "models" / "registry" / "tutor-smollm2-lora-v1" / "adapter"),
                "TUTOR_SERVED_MAX_NEW_TOKENS": "40",
                "TUTOR_SERVED_TIMEOUT_S": "120",
                "COACHING_REFRESH_INLINE": "1",
                "TUTOR_WARM_UP": "0",
                "TUTOR_TEXT_SIMILARITY": "lexical",
            }
            | env_extra
        )
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tutor", "worker", "-Q", "gpu", "-n", name, "--pool", "threads",
             "--concurrency", "4", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        proc.log = log
        procs.append(proc)
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gpu worker did not start; see {log.name}")
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.log.close()


def _reply(student_seq: int, session) -> Message | None:
    return Message.objects.filter(session=session, reply_to__seq=student_seq).first()


async def test_a_served_reply_streams_live_in_frames_and_is_stored_once(start_worker, alice, alice_session):
    start_worker()
    comm, connected, _ = await open_socket(alice, alice_session)
    assert connected
    await comm.receive_json_from(timeout=10)  # the greeting
    sent = time.monotonic()
    await comm.send_json_to({"type": "student_message", "client_id": "g-1", "text": "12"})
    ack = await comm.receive_json_from(timeout=10)
    events, first_delta_at = [], None
    while not events or not (events[-1]["type"] == "message" and events[-1]["reply_to"] == ack["seq"]):
        events.append(await comm.receive_json_from(timeout=SLOW))
        if events[-1]["type"] == "delta" and first_delta_at is None:
            first_delta_at = timezone.now()
    elapsed = time.monotonic() - sent
    deltas = [e for e in events if e["type"] == "delta"]
    final = events[-1]
    assert deltas, "the served model's words were not streamed"
    assert final["reply_to"] == ack["seq"] and "backend" not in final["record"]  # labels only, on the wire
    reply = await database_sync_to_async(_reply)(ack["seq"], alice_session)
    assert reply is not None and reply.text == final["text"]
    assert reply.record["backend"] == "served" and reply.record["guard"] == "passed"
    assert [d["index"] for d in deltas] == list(range(len(deltas)))
    assert "".join(d["text"] for d in deltas).strip() == final["text"]
    # Live: the first words reached the socket before the reply was stored, not replayed after the commit.
    assert first_delta_at < reply.created_at
    # Coalesced: at most one frame per 50 ms of the turn (+1), however many tokens it had.
    assert len(deltas) <= elapsed / (django_settings.TUTOR_DELTA_FRAME_MS / 1000) + 1
    await comm.disconnect()


async def test_a_generation_past_its_budget_falls_back_to_scripted(start_worker, alice, alice_session):
    start_worker(TUTOR_SERVED_TIMEOUT_S="0.001")
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=10)
    await comm.send_json_to({"type": "student_message", "client_id": "t-1", "text": "12"})
    ack = await comm.receive_json_from(timeout=10)
    events = await receive_until_reply(comm, ack["seq"], SLOW)
    assert events[-1]["type"] == "message"
    reply = await database_sync_to_async(_reply)(ack["seq"], alice_session)
    assert reply.record["backend"] == "scripted" and "served backend failed" in reply.record["thoughts"]
    assert "sum-of-denominators" == reply.record["misconception"]  # the policy still decided the turn
    assert await comm.receive_nothing(timeout=1)  # one reply, nothing after it
    await comm.disconnect()


async def test_killing_the_worker_mid_generation_delivers_the_turn_exactly_once(start_worker, alice, alice_session):
    # A killed worker's task goes back on the queue once it is this old; a longer generation is
    # also delivered again (harmless, and counted), so keep it above a turn's time here.
    visibility = 20
    model = {"CELERY_VISIBILITY_TIMEOUT_S": str(visibility)}
    first = start_worker(**model)
    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=10)
    await comm.send_json_to({"type": "hint_request", "client_id": "k-1"})
    ack = await comm.receive_json_from(timeout=10)
    seq = ack["seq"]
    delta = await comm.receive_json_from(timeout=SLOW)
    while delta["type"] == "message" and delta["role"] == "student":  # the student's own message, echoed
        delta = await comm.receive_json_from(timeout=SLOW)
    assert delta["type"] == "delta" and delta["reply_to"] == seq, delta
    student = await database_sync_to_async(Message.objects.get)(session=alice_session, seq=seq)
    assert student.turn_attempts >= 1

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert await database_sync_to_async(_reply)(seq, alice_session) is None, "the turn finished before the kill"
    await comm.disconnect()

    start_worker(**model)  # takes the unacknowledged task back
    deadline = time.monotonic() + SLOW
    while await database_sync_to_async(_reply)(seq, alice_session) is None:
        assert time.monotonic() < deadline, "the killed turn was never answered"
        await asyncio.sleep(0.5)

    again, _, _ = await open_socket(alice, alice_session, last_seq=seq)
    replayed = await receive_until_reply(again, seq, 10)
    assert [e["reply_to"] for e in replayed if e["type"] == "message"] == [seq]
    assert await again.receive_nothing(timeout=2)
    student = await database_sync_to_async(Message.objects.get)(pk=student.pk)
    assert student.turn_attempts >= 2  # the killed attempt counted
    assert await database_sync_to_async(Message.objects.filter(reply_to=student).count)() == 1
    await again.disconnect()

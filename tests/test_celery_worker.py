"""Turns on a real Celery worker process, through Redis, on PostgreSQL.

This is the distributed mode end to end: the test process is the web side
(a real WebSocket through the ASGI stack, the Redis channel layer), and a
separate ``celery worker`` process consumes the ``agents`` queue from Redis,
runs the turn against the same PostgreSQL test database and publishes the
reply back through Redis. Skipped unless DATABASE_URL is PostgreSQL and
REDIS_URL is set, as in CI (``.ci/run``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from tests.markers import needs_postgres_and_redis
from tests.test_session_socket import TIMEOUT, open_socket, receive_until_reply, say
from tutor.dialogue.models import Message

ROOT = Path(__file__).resolve().parent.parent
# A busy 2-core CI machine can take seconds to hand a task to a worker process;
# these tests check what arrives, not how fast.
WORKER_TIMEOUT = 30

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.django_db(transaction=True),
    needs_postgres_and_redis,
]


def _database_url() -> str:
    db = django_settings.DATABASES["default"]  # the test database, once pytest-django set it up
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, tmp_path_factory):
    """One worker process for the module, on the test database."""
    from tutor.celery import app

    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    # COACHING_REFRESH_INLINE: no follow-up task may outlive a test and race the flush of its database.
    env = os.environ | {
        "DATABASE_URL": _database_url(),
        "TURN_EXECUTOR": "celery",
        "LOG_LEVEL": "INFO",
        "COACHING_REFRESH_INLINE": "1",
    }
    app.control.purge()  # tasks left by an earlier, interrupted run
    log = open(tmp_path_factory.mktemp("celery") / "celery-worker.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tutor", "worker", "-Q", "agents,gpu", "-n", name,
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start; see {log.name}")
        yield name
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(autouse=True)
def _celery_turns(settings):
    settings.TURN_EXECUTOR = "celery"


async def test_worker_answers_a_turn_over_redis(celery_worker, alice, alice_session):
    comm, connected, _ = await open_socket(alice, alice_session)
    assert connected
    await comm.receive_json_from(timeout=TIMEOUT)
    events = await say(comm, "w-1", "12", timeout=WORKER_TIMEOUT)
    deltas = [e for e in events if e["type"] == "delta"]
    final = events[-1]
    assert "".join(d["text"] for d in deltas) == final["text"]
    assert "misconception" not in final["record"], "the matched misconception is for teachers, not the wire"
    student = await database_sync_to_async(Message.objects.get)(session=alice_session, client_id="w-1")
    assert student.turn_attempts == 1
    reply = await database_sync_to_async(Message.objects.get)(reply_to=student)
    assert reply.record["misconception"] == "sum-of-denominators" and reply.record["guard"] == "passed"
    await comm.disconnect()


async def test_redelivered_turn_task_does_not_answer_twice(celery_worker, alice, alice_session):
    from tutor.dialogue.tasks import run_turn

    comm, _, _ = await open_socket(alice, alice_session)
    await comm.receive_json_from(timeout=TIMEOUT)
    events = await say(comm, "w-1", "8", timeout=WORKER_TIMEOUT)
    message_id = await database_sync_to_async(lambda: Message.objects.get(session=alice_session, client_id="w-1").pk)()
    run_turn.delay(message_id)  # as if the broker redelivered it after a crash

    def attempts() -> int:
        return Message.objects.get(pk=message_id).turn_attempts

    deadline = time.monotonic() + WORKER_TIMEOUT
    while await database_sync_to_async(attempts)() < 2 and time.monotonic() < deadline:
        await comm.receive_nothing(timeout=0.1)
    assert await database_sync_to_async(attempts)() == 2
    replies = await database_sync_to_async(Message.objects.filter(reply_to_id=message_id).count)()
    assert replies == 1 and events[-1]["record"]["evaluation"] == "b"
    await comm.disconnect()


async def test_resend_of_an_unanswered_message_runs_its_turn(celery_worker, alice, alice_session):
    # A message stored whose turn never ran, as when the task was lost with a
    # dead worker: the browser resends it with the same client_id.
    def store_without_turn() -> Message:
        alice_session.last_seq = 2
        alice_session.save(update_fields=["last_seq"])
        return Message.objects.create(
            session=alice_session, seq=2, role="student", kind="answer", text="8", client_id="lost"
        )

    await database_sync_to_async(store_without_turn)()
    comm, _, _ = await open_socket(alice, alice_session, last_seq=2)
    await comm.send_json_to({"type": "student_message", "client_id": "lost", "text": "8"})
    ack = await comm.receive_json_from(timeout=TIMEOUT)
    assert ack == {"type": "ack", "client_id": "lost", "seq": 2, "duplicate": True}
    events = await receive_until_reply(comm, 2, WORKER_TIMEOUT)
    assert events[-1]["record"]["evaluation"] == "b"
    await comm.disconnect()


def test_worker_indexes_passages_after_an_import(celery_worker, transactional_db, settings):
    import json

    from tests.conftest import TEST_DATA
    from tutor.curricula.importer import curriculum_import
    from tutor.curricula.models import PassageEmbedding

    settings.INDEX_PASSAGES = "celery"
    curriculum = curriculum_import(json.loads((TEST_DATA / "mini-fractions.json").read_text())).curriculum
    deadline = time.monotonic() + 60  # the worker loads MiniLM on its first task
    while not PassageEmbedding.objects.filter(passage__curriculum=curriculum).exists():
        assert time.monotonic() < deadline, "the worker did not index the passages"
        time.sleep(0.2)
    assert PassageEmbedding.objects.filter(passage__curriculum=curriculum).count() == curriculum.passages.count()

"""Resilience under faults, against the real services (chaos tests).

A real stack, as in production: uvicorn serving ``tutor.asgi`` (web), a
``celery worker`` on the ``agents`` queue with beat inside it (the sweeper),
PostgreSQL (pytest-django's test database) and a Redis of the test's own
(``tests/chaos_support.PrivateRedis``, never the shared one) as broker,
channel layer and cache. Students are real WebSocket clients that behave as
the browser does: resend unacked messages with the same client_id, reconnect
with ``?last_seq=N``. The tutor speaks through its ``openai`` backend to a
model server in this process that a test can hold mid-reply, which is how a
turn is caught in the middle, inside its transaction, without a test hook in
the product.

The faults: the worker SIGKILLed mid-turn; Redis killed and restarted empty
(no persistence) during active sessions; PostgreSQL terminating the web's
and the worker's connections, idle and mid-turn. After each, every message
the server acknowledged is stored once and has exactly one tutor reply, and
every client ends up with every message, no connection delivering one twice.

Skipped unless DATABASE_URL is PostgreSQL and REDIS_URL is set (CI sets
both); also needs ``redis-server`` on the PATH.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request
import uuid

import pytest
import redis
from django.db import connection
from django.test import Client

from tests.chaos_support import (
    ChatClient,
    PrivateRedis,
    SlowModelServer,
    database_url,
    describe,
    free_port,
    kill_group,
    pump_until,
    start_process,
    wait_until,
)
from tests.markers import needs_postgres_and_redis
from tutor.dialogue.models import Message

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.django_db(transaction=True),
    needs_postgres_and_redis,
    pytest.mark.skipif(not PrivateRedis.available(), reason="needs the redis-server binary"),
]

# Generous: a busy 2-core CI machine can take seconds to start a worker or hand it a task.
TIMEOUT = 60


class Stack:
    """Web server, workers and a private Redis, on the test database."""

    def __init__(self, directory, model: SlowModelServer):
        self.directory = directory
        self.model = model
        self.redis = PrivateRedis(directory)
        self.redis.start()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.web = None
        self.worker = None
        self.worker_name = ""

    def env(self, role: str) -> dict:
        return os.environ | {
            "DATABASE_URL": database_url(f"chaos-{role}"),
            "REDIS_URL": self.redis.url(0),
            "TURN_EXECUTOR": "celery",
            "TUTOR_BACKEND": "openai",
            "TUTOR_OPENAI_BASE_URL": self.model.base_url,
            "TUTOR_OPENAI_MODEL": "chaos",
            # The faults are in the infrastructure; no text model needs loading.
            "TUTOR_TEXT_SIMILARITY": "lexical",
            "TUTOR_WARM_UP": "0",
            "INDEX_PASSAGES": "off",
            "COACHING_REFRESH_INLINE": "1",
            # Persistent connections in the workers (and the web's own pool, its default under
            # ASGI), so there are idle connections for PostgreSQL to drop and the processes to reopen.
            "DB_CONN_MAX_AGE": "60",
            # Short, so that the recovery paths act within a test's patience;
            # docs/deployment.md gives the production values and why.
            "CELERY_VISIBILITY_TIMEOUT_S": "4",
            "TURN_SWEEP_EVERY_S": "1",
            "TURN_SWEEP_AFTER_S": "3",
            "LOG_LEVEL": "INFO",
        }

    def start_web(self) -> None:
        self.web = start_process(
            [sys.executable, "-m", "uvicorn", "tutor.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            env=self.env("web"), log_path=self.directory / "web.log",
        )  # fmt: skip
        wait_until(self._ready, TIMEOUT, "the web server's /readyz")

    def _ready(self) -> bool:
        if self.web.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {self.web.returncode}; see {self.directory / 'web.log'}")
        try:
            with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=3) as response:
                return response.status == 200
        except OSError:
            return False

    def start_worker(self, *, sweeper: bool) -> None:
        """One worker process (and one pool child); with ``sweeper``, beat runs inside it."""
        from celery import Celery

        self.worker_name = f"chaos-{uuid.uuid4().hex[:8]}@localhost"
        args = [sys.executable, "-m", "celery", "-A", "tutor", "worker", "-Q", "agents", "-n", self.worker_name,
                "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]  # fmt: skip
        if sweeper:
            args += ["--beat", "--schedule", str(self.directory / f"beat-{self.worker_name}")]
        self.worker = start_process(args, env=self.env("worker"), log_path=self.directory / "worker.log")
        control = Celery("chaos-control", broker=self.redis.url(0), set_as_current=False)
        try:

            def pongs() -> bool:
                if self.worker.poll() is not None:
                    raise RuntimeError(f"the worker exited; see {self.directory / 'worker.log'}")
                try:
                    return bool(control.control.ping(destination=[self.worker_name], timeout=0.5))
                except redis.ConnectionError:
                    # kombu's process-wide pools may still hold a connection
                    # to the Redis a test restarted; the next try gets a fresh one.
                    return False

            wait_until(pongs, TIMEOUT, "the celery worker", interval=0)
        finally:
            control.close()

    def stop_worker(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: a warm shutdown of the main process (it stops its pool); SIGKILL: the whole group dies."""
        if self.worker is None:
            return
        if sig == signal.SIGKILL:
            kill_group(self.worker, sig)
        else:
            self.worker.send_signal(sig)
            kill_group(self.worker, 0)  # waits, and kills the group if the shutdown hangs
        self.worker = None

    def client(self, user, session) -> ChatClient:
        browser = Client()
        browser.force_login(user)
        chat = ChatClient(self.base_url, session.pk, f"sessionid={browser.cookies['sessionid'].value}")
        assert chat.connect(), describe(chat)
        return chat

    def close(self) -> None:
        self.stop_worker(signal.SIGKILL)
        if self.web is not None:
            kill_group(self.web, signal.SIGKILL)
        self.redis.kill()


@pytest.fixture(scope="module")
def model():
    server = SlowModelServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory, model):
    """One web server and Redis for the module; each test starts the workers it needs."""
    directory = tmp_path_factory.mktemp("chaos")
    stack = Stack(directory, model)
    try:
        stack.start_web()
        yield stack
    finally:
        stack.close()


@pytest.fixture
def chaos(stack, model):
    """The stack for one test; afterwards no worker is left to race the database flush."""
    model.release()
    yield stack
    model.release()
    stack.stop_worker()
    if not stack.redis.proc:
        stack.redis.start()


@pytest.fixture
def bob_session(bob, demo_problem):
    from tutor.dialogue.actions import session_start

    return session_start(student=bob, problem=demo_problem)


def replies_to(message: Message) -> int:
    return Message.objects.filter(reply_to=message).count()


def assert_every_message_answered_once(session, clients: list[ChatClient]) -> None:
    """The database and each client's view agree: one reply per student message, nothing lost or repeated."""
    students = list(Message.objects.filter(session=session, role="student"))
    assert students, "the test sent nothing"
    for message in students:
        assert replies_to(message) == 1, f"message seq {message.seq} has {replies_to(message)} replies"
    acked = {cid: seq for c in clients for cid, seq in c.acked.items()}
    stored = {m.client_id: m.seq for m in students}
    assert acked == stored, "every acked message is stored, with the seq its ack named, and nothing else"
    all_seqs = set(Message.objects.filter(session=session).values_list("seq", flat=True))
    for client in clients:
        assert set(client.received) == all_seqs, describe(client)
        assert client.repeats == [] and client.stale == [], describe(client)
        assert not client.unacked, describe(client)


def pg_terminate(*roles: str) -> int:
    """Terminate the test database's connections held by the named child processes."""
    names = [f"chaos-{role}" for role in roles]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = ANY(%s) AND pid <> pg_backend_pid()",
            [names],
        )
        return cur.fetchone()[0]


def test_killed_worker_mid_turn_is_redelivered_and_answers_once(chaos, model, alice, alice_session):
    chaos.start_worker(sweeper=False)  # only the broker's redelivery can bring the turn back
    watcher = chaos.client(alice, alice_session)
    pump_until([watcher], lambda: 1 in watcher.received, TIMEOUT)  # the greeting

    model.hold()
    watcher.send("k-1", "12")
    pump_until([watcher], lambda: "k-1" in watcher.acked, TIMEOUT)
    assert model.requested.wait(TIMEOUT), "the worker never reached the model server"
    message = Message.objects.get(session=alice_session, client_id="k-1")
    assert message.turn_attempts == 1 and replies_to(message) == 0  # mid-turn: its transaction is open

    chaos.stop_worker(signal.SIGKILL)  # the worker and its pool child, without a chance to ack or roll back
    model.release()
    assert replies_to(message) == 0

    chaos.start_worker(sweeper=False)
    # acks_late + the Redis visibility timeout: the unacknowledged task comes back.
    wait_until(lambda: replies_to(message) == 1, TIMEOUT, "the redelivered turn")
    message.refresh_from_db()
    assert message.turn_attempts >= 2
    pump_until([watcher], watcher.answered, TIMEOUT)  # the socket that stayed open gets the reply live

    # A tab that was away reconnects with the last seq it had: the reply, once, and nothing else.
    away = ChatClient(chaos.base_url, alice_session.pk, watcher.cookie)
    away.received = {seq: watcher.received[seq] for seq in (1, 2)}
    assert away.connect()
    pump_until([away], lambda: 3 in away.received, TIMEOUT)
    away.pump(1.0)
    assert sorted(away.received) == [1, 2, 3] and away.repeats == [] and away.stale == []
    assert away.received[3]["reply_to"] == 2
    time.sleep(1)
    assert replies_to(message) == 1
    assert_every_message_answered_once(alice_session, [watcher])


def test_redis_restart_during_active_sessions_loses_no_message(chaos, model, alice, alice_session, bob, bob_session):
    chaos.start_worker(sweeper=True)
    clients = {"alice": chaos.client(alice, alice_session), "bob": chaos.client(bob, bob_session)}
    both = list(clients.values())

    def everyone_answered() -> bool:
        return all(c.answered() for c in both)

    for name, chat in clients.items():
        chat.send(f"{name}-1", "12")
    pump_until(both, everyone_answered, TIMEOUT)

    # Alice's turn in the middle on the worker (its only process), Bob's
    # queued in Redis behind it when Redis dies.
    alice_chat, bob_chat = clients["alice"], clients["bob"]
    model.hold()
    alice_chat.send("alice-2", "8")
    pump_until(both, lambda: "alice-2" in alice_chat.acked, TIMEOUT)
    assert model.requested.wait(TIMEOUT)
    bob_chat.send("bob-2", "8")
    pump_until(both, lambda: "bob-2" in bob_chat.acked, TIMEOUT)
    chaos.redis.kill()
    # Sent while Redis is down: refused with an error (the socket closes, the
    # client resends after reconnecting), or acked and answered later.
    alice_chat.send("alice-3", "7/8")
    alice_chat.pump(0.5)
    model.release()  # Alice's turn commits its reply; publishing it fails
    time.sleep(1)
    chaos.redis.start()  # empty: Bob's queued task and every subscription are gone

    # Bob sends nothing more: only the sweeper can bring his turn back.
    pump_until(both, everyone_answered, TIMEOUT)
    for name, chat in clients.items():
        chat.send(f"{name}-4", "I think it is 7/8")
    pump_until(both, everyone_answered, TIMEOUT)
    for chat in both:
        chat.pump(1.0)

    assert_every_message_answered_once(alice_session, [clients["alice"]])
    assert_every_message_answered_once(bob_session, [clients["bob"]])
    assert set(alice_chat.acked) == {"alice-1", "alice-2", "alice-3", "alice-4"}
    assert set(bob_chat.acked) == {"bob-1", "bob-2", "bob-4"}
    for chat in both:
        assert {e["code"] for e in chat.errors} <= {"unavailable"}, chat.errors


def test_dropped_database_connections_are_reopened(chaos, model, alice, alice_session):
    chaos.start_worker(sweeper=True)
    chat = chaos.client(alice, alice_session)
    chat.send("d-1", "12")
    pump_until([chat], chat.answered, TIMEOUT)

    # Idle connections: the web's (its socket thread) and the worker's.
    assert pg_terminate("web", "worker") >= 2
    chat.send("d-2", "8")
    pump_until([chat], chat.answered, TIMEOUT)
    assert chat.errors == []

    # Mid-turn: the worker's connection dies inside the turn's transaction.
    model.hold()
    chat.send("d-3", "7/8")
    pump_until([chat], lambda: "d-3" in chat.acked, TIMEOUT)
    assert model.requested.wait(TIMEOUT)
    assert pg_terminate("worker") >= 1
    model.release()
    pump_until([chat], chat.answered, TIMEOUT)
    message = Message.objects.get(session=alice_session, client_id="d-3")
    assert message.turn_attempts >= 2  # the cut-off attempt, then the retry

    with urllib.request.urlopen(f"{chaos.base_url}/readyz", timeout=5) as response:
        assert response.status == 200
    chat.pump(1.0)
    assert_every_message_answered_once(alice_session, [chat])

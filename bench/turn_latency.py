"""Tutor turn latency under concurrent students, in the distributed mode.

    .venv/bin/python bench/turn_latency.py [--students 50] [--messages 10] [--workers 2] ...

What is measured
----------------
The whole product path of one tutor turn, as a browser sees it, with
PostgreSQL, the Redis channel layer and a real Celery worker:

    client --ws--> uvicorn consumer --(store message, commit)--> PostgreSQL
                   consumer --(run_turn.delay)--> Redis broker --> Celery worker
                   worker --(turn_run: lock session, store reply)--> PostgreSQL
                   worker --(group_send deltas + message)--> Redis channel layer
                   uvicorn consumer --ws--> client

Each of ``--students`` clients holds one WebSocket on its own session of the
fractions demo problem and sends ``--messages`` student messages one at a
time (closed loop: the next message goes when the reply to the last one has
arrived, after an optional ``--think-ms``, drawn per pause from 0.5x-1.5x,
with a staggered start, so that students do not all send at one instant). Per message we record:

- turn latency: send -> the tutor's final ``message`` whose ``reply_to`` is
  the seq the server acked for this message;
- first delta: send -> the first streamed ``delta`` of that reply;
- ack: send -> the ``ack`` (the student message is committed).

Why a ping baseline
-------------------
Before the turns, the same clients send the same number of ``ping`` frames
with the same concurrency; the consumer answers ``pong`` at once, without the
database, the broker or the worker. That is the floor this machine, the
client and uvicorn set on any round trip. The ratio turn p95 / ping p95 says
how much the turn pipeline itself costs, independent of how fast the machine
running the bench is; absolute numbers move with the hardware, the ratio
moves far less.

Correctness checked at the same time
------------------------------------
After the load the bench counts, in PostgreSQL, the student messages stored
for the bench sessions (lost = sent - stored), duplicates (rows - distinct
client_ids), tutor replies, and student messages left without a reply. For a
sample of students it also re-sends an already-answered message with the same
client_id: the server must ack it as a duplicate and store nothing.

Server-side stage timing needs no product change: ``Message.created_at`` is
set by Python on the same machine as the client, so joining the client's send
and receive wall-clock times with the stored student message and reply splits
each turn into send -> stored, stored -> reply stored (broker, worker pickup,
turn) and reply stored -> client (commit, publish, delivery).

The last line of stdout is one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

REPO = Path(__file__).resolve().parent.parent
PROBLEM_KEY = "three-quarters-plus-one-eighth"
CLASS_CODE = "MATH5A"
STUDENT_PREFIX = "bench-student-"
WARMUP_PREFIX = "bench-warmup-"
TARGET_P95_MS = 150.0
# Candidate product changes that ``--variant`` can try without touching product
# files (bench/variant_settings.py, bench/variant_celery.py). The default run
# has none: it measures the product as it is.
VARIANTS = {
    "capacity": "channel layer capacity 2000 instead of 100 (shared by all sockets of a server process)",
    "socket_timeout": "channel layer Redis socket_timeout 15 s (redis-py 8 defaults to 5 s, the BZPOPMIN timeout)",
    "pubsub": "channels_redis RedisPubSubChannelLayer instead of RedisChannelLayer",
    "db_reuse": "worker keeps its DB connection between tasks (CELERY_DB_REUSE_MAX)",
    "loop": "worker publishes on one event loop per process instead of async_to_sync per task",
    "coarse_deltas": "at most 3 streamed deltas per reply instead of one per word",
}
_START = time.perf_counter()


@dataclass(frozen=True)
class Config:
    students: int = 50
    messages: int = 10
    database_url: str = "postgres://postgres@127.0.0.1:5432/tutorgraph_bench"
    redis_url: str = "redis://127.0.0.1:6379/5"
    port: int = 8765
    workers: int = 2
    timeout_s: float = 10.0  # per message; a reply later than this is a timeout
    think_ms: int = 3000  # pause between a reply and the next message (a student reading and typing)
    resend_sample: int = 10  # students that re-send an already-sent message
    drop_db: bool = False  # leave the bench database for inspection by default
    problem: str = PROBLEM_KEY  # falls back to a similar demo problem when absent
    variants: tuple[str, ...] = ()  # keys of VARIANTS; () is the product as it is

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def celery_app(self) -> str:
        return "bench.variant_celery" if self.variants else "tutor"

    def env(self) -> dict[str, str]:
        """Environment for manage.py, uvicorn and the worker (and this process)."""
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.variant_settings" if self.variants else "tutor.settings",
            "BENCH_VARIANTS": ",".join(self.variants),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "TURN_EXECUTOR": "celery",
            "TUTOR_STREAM_DELAY_MS": "0",
            # Production-like: no DEBUG query log; no TLS on this loopback run.
            "DEBUG": "0",
            "SECURE": "0",
            "SECRET_KEY": "bench-only-secret-key-not-for-production",
            "LOG_LEVEL": "WARNING",
        }


@dataclass(frozen=True)
class Student:
    username: str
    session_id: int
    cookie: str  # the Django session key, sent as the sessionid cookie
    script: tuple[str, ...]  # what this student answers, in order, round and round


@dataclass
class Turn:
    client_id: str
    sent_wall: float  # time.time() at send, for joining with created_at
    latency_ms: float | None = None  # None: timed out or refused
    first_delta_ms: float | None = None
    ack_ms: float | None = None
    final_wall: float | None = None
    error: str | None = None


@dataclass
class ClientStats:
    pings_ms: list[float] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    resent: int = 0
    disconnects: int = 0  # sockets the server closed under us
    resend_acked_duplicate: int = 0


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- set-up -----------------------------------------------------------------
def reset_database(cfg: Config) -> None:
    """Drop and re-create the bench database (via the ``postgres`` database)."""
    url = urlparse(cfg.database_url)
    name = url.path.lstrip("/")
    admin_url = urlunparse(url._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"database {name} created")


def drop_database(cfg: Config) -> None:
    url = urlparse(cfg.database_url)
    with psycopg.connect(urlunparse(url._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.path.lstrip("/")}" WITH (FORCE)')


def flush_redis(cfg: Config) -> None:
    client = redis.Redis.from_url(cfg.redis_url)
    client.flushdb()
    client.close()
    log(f"redis {cfg.redis_url} flushed")


def manage(cfg: Config, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=cfg.env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed with exit status {result.returncode}")
    log(f"manage.py {' '.join(args)}: ok")


def setup_django(cfg: Config) -> None:
    """Point this process's Django at the bench database, then set it up."""
    os.environ.update(cfg.env())
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def find_problem(key: str):
    """The problem ``key`` of MATH5A's curricula or, when the demo curricula
    no longer have it, one with three or more numeric subproblems."""
    from tutor.accounts.models import Classroom
    from tutor.curricula.models import Problem

    field_names = {f.name for f in Problem._meta.get_fields()}
    key_field = "key" if "key" in field_names else "slug"  # the curriculum format renamed it
    problems = Problem.objects.filter(curriculum__in=Classroom.objects.get(code=CLASS_CODE).curricula.all())
    problem = problems.filter(**{key_field: key}).first()
    if problem is not None:
        return problem
    # Prefer an addition problem, like the default one.
    for candidate in sorted(problems, key=lambda p: ("add" not in getattr(p, key_field), p.pk)):
        script = answer_script(candidate)
        if len(script) >= 6 and all(_is_number(answer) for answer in script[1::2]):
            log(f"problem {key!r} is not in the demo curricula; using {getattr(candidate, key_field)!r}")
            return candidate
    raise SystemExit(f"no problem {key!r} and no numeric fallback in {CLASS_CODE}'s curricula")


def _is_number(text: str) -> bool:
    try:
        float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        return False
    return True


def answer_script(problem) -> tuple[str, ...]:
    """A wrong answer (an authored misconception when there is one), then the
    right answer, for each subproblem: every turn does real work (feedback,
    advancing); after the last one the tutor says the problem is finished,
    which is still a full turn."""
    from tutor.dialogue.actions import steps_for

    script: list[str] = []
    for step in steps_for(problem):
        right = step.answer.get("value") if isinstance(step.answer, dict) else step.answer  # typed spec or text
        wrong = next((m["answer"] for m in step.misconceptions if "answer" in m), "12345")
        script += [str(wrong), str(right)]
    return tuple(script)


def create_students(prefix: str, count: int, problem) -> list[Student]:
    """Students enrolled in MATH5A, each with a session on ``problem`` and a login cookie.

    Passwords are unusable (hashing 50 real ones takes a minute); the login
    is a Django session created directly, as the login view would store it.
    """
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from tutor.accounts.models import Classroom, Enrollment, User
    from tutor.dialogue.actions import session_start

    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    classroom = Classroom.objects.get(code=CLASS_CODE)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    script = answer_script(problem)
    students = []
    for i in range(count):
        user = User(username=f"{prefix}{i}", role=User.Role.STUDENT, first_name="Bench", last_name=str(i))
        user.set_unusable_password()
        user.save()
        Enrollment.objects.create(classroom=classroom, student=user)
        session = session_start(student=user, problem=problem)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = backend
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        students.append(Student(user.username, session.pk, store.session_key, script))
    return students


# --- server and worker ------------------------------------------------------
def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def stop(proc: subprocess.Popen, name: str, grace_s: float = 20.0) -> None:
    """SIGTERM (graceful for both uvicorn and Celery), then SIGKILL its group."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
        log(f"{name} stopped (exit {proc.returncode})")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log(f"{name} did not stop in {grace_s:.0f}s; killed")


@contextmanager
def services(cfg: Config, logdir: Path) -> Iterator[dict[str, subprocess.Popen]]:
    """uvicorn (one process) and a Celery worker on the agents queue."""
    commands = {
        "uvicorn": [
            sys.executable, "-m", "uvicorn", "tutor.asgi:application",
            "--host", "127.0.0.1", "--port", str(cfg.port), "--log-level", "warning",
        ],
        "celery": [
            sys.executable, "-m", "celery", "-A", cfg.celery_app, "worker", "-Q", "agents",
            "--concurrency", str(cfg.workers), "--loglevel", "WARNING", "-n", f"bench-{os.getpid()}@%h",
        ],
    }  # fmt: skip
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, command in commands.items():
            with (logdir / f"{name}.log").open("w") as out:
                procs[name] = subprocess.Popen(
                    command, cwd=REPO, env=cfg.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            log(f"{name} started (pid {procs[name].pid}, log {logdir / f'{name}.log'})")
        yield procs
    finally:
        for name, proc in procs.items():
            stop(proc, name)


def check_alive(procs: dict[str, subprocess.Popen]) -> None:
    for name, proc in procs.items():
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with status {proc.returncode}; see its log")


def wait_healthy(cfg: Config, procs: dict[str, subprocess.Popen], timeout_s: float = 60.0) -> dict:
    """Poll /readyz until it answers 200 with the broker ok."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        check_alive(procs)
        try:
            with urllib.request.urlopen(f"{cfg.origin}/readyz", timeout=2) as response:
                body = json.load(response)
                if response.status == 200 and body["checks"]["broker"]["ok"]:
                    log(f"readyz: {body['status']}, executor {body['executor']}")
                    return body
                last = json.dumps(body)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.25)
    raise SystemExit(f"/readyz not ready after {timeout_s:.0f}s: {last}")


def wait_worker(procs: dict[str, subprocess.Popen], timeout_s: float = 60.0) -> None:
    from tutor.celery import app

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        check_alive(procs)
        replies = app.control.ping(timeout=1.0)
        if replies:
            log(f"worker answers ping: {', '.join(next(iter(r)) for r in replies)}")
            return
    raise SystemExit(f"no Celery worker answered within {timeout_s:.0f}s")


def wait_idle(cfg: Config, procs: dict[str, subprocess.Popen], timeout_s: float = 600.0) -> None:
    """Wait until the worker has drained the agents queue (``load_demo`` may
    have queued background work, such as indexing passages) and runs nothing."""
    from tutor.celery import app

    broker = redis.Redis.from_url(cfg.redis_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            check_alive(procs)
            queued = broker.llen("agents")
            active = sum(len(tasks) for tasks in (app.control.inspect(timeout=1.0).active() or {}).values())
            if queued == 0 and active == 0:
                return
            log(f"waiting for the worker to finish start-up work: {queued} queued, {active} running")
            time.sleep(2)
    finally:
        broker.close()
    raise SystemExit(f"the worker was still busy after {timeout_s:.0f}s")


# --- CPU accounting (Linux /proc) ----------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def _own_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError):
        return 0.0


def _tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(p for kid in kids for p in _tree(int(kid)))]


def _matching(needle: str) -> list[int]:
    """Processes whose command line contains ``needle`` (e.g. postgres backends of one database)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _machine_busy() -> float:
    """CPU seconds the whole machine spent not idle, over all cores."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICK


def cpu_snapshot(cfg: Config, procs: dict[str, int]) -> dict[str, dict[int, float]]:
    """CPU seconds so far, per process, grouped: our services, this client, PostgreSQL, Redis."""
    groups = {name: _tree(pid) for name, pid in procs.items()}
    groups["bench_client"] = [os.getpid()]
    groups["postgres (bench db)"] = _matching(f" {urlparse(cfg.database_url).path.lstrip('/')} ")
    groups["redis-server"] = _matching("redis-server")
    snapshot = {name: {pid: _own_cpu(pid) for pid in pids} for name, pids in groups.items()}
    snapshot["machine"] = {0: _machine_busy()}
    return snapshot


def cpu_split(before: dict, after: dict, elapsed: float) -> dict[str, float]:
    """CPU seconds each group used between two snapshots; the rest is other load on the machine."""
    used = {
        name: sum(seconds - before.get(name, {}).get(pid, 0.0) for pid, seconds in pids.items())
        for name, pids in after.items()
    }
    machine = used.pop("machine")
    used["other load on this machine"] = machine - sum(used.values())
    out = {name: round(value, 2) for name, value in used.items()}
    out["machine_busy_pct"] = round(100 * machine / (elapsed * (os.cpu_count() or 1)), 1)
    return out


def db_sessions(cfg: Config) -> int:
    """Connections ever opened to the bench database (pg_stat_database, PostgreSQL 14+).

    The statistics lag by up to a second; good enough to tell one connection
    per turn from a few per run.
    """
    name = urlparse(cfg.database_url).path.lstrip("/")
    with psycopg.connect(cfg.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (name,)).fetchone()
    return int(row[0]) if row else 0


# --- the clients ------------------------------------------------------------
class Reconnected(Exception):
    """The server dropped the socket; the client reconnected with ``last_seq``."""


class Client:
    """One student's WebSocket on their session.

    Like the browser, it reconnects with ``?last_seq=`` when the server drops
    the socket (counted in ``disconnects``) and re-sends an unanswered
    message with the same client_id.
    """

    def __init__(self, cfg: Config, student: Student):
        self.cfg = cfg
        self.student = student
        self.ws: ClientConnection | None = None
        self.stats = ClientStats()
        self.last_seq = 0  # highest seq this client has seen
        self._ids = itertools.count()
        self._rng = random.Random(student.username)  # the same pauses on every run

    async def connect(self) -> None:
        """Open the socket; on the first connect, read the replayed greeting (seq 1)."""
        self.ws = await connect(
            f"ws://127.0.0.1:{self.cfg.port}/ws/sessions/{self.student.session_id}/?last_seq={self.last_seq}",
            origin=self.cfg.origin,
            additional_headers={"Cookie": f"sessionid={self.student.cookie}"},
            open_timeout=self.cfg.timeout_s,
        )
        deadline = time.perf_counter() + self.cfg.timeout_s
        while self.last_seq == 0:
            event, _ = await self._recv(deadline)
            if event is None:
                raise TimeoutError(f"{self.student.username}: no greeting")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def _send(self, event: dict) -> None:
        while True:
            try:
                await self.ws.send(json.dumps(event))
                return
            except ConnectionClosed:
                await self._reconnect()

    async def _recv(self, deadline: float) -> tuple[dict | None, float]:
        """The next event and when it arrived; ``(None, now)`` at the deadline."""
        try:
            raw = await asyncio.wait_for(self.ws.recv(), max(0.0, deadline - time.perf_counter()))
        except TimeoutError:
            return None, time.perf_counter()
        except ConnectionClosed:
            await self._reconnect()
            raise Reconnected from None
        now = time.perf_counter()
        event = json.loads(raw)
        if event.get("type") in ("message", "ack"):
            self.last_seq = max(self.last_seq, event["seq"])
        return event, now

    async def _reconnect(self) -> None:
        self.stats.disconnects += 1
        log(f"{self.student.username}: server closed the socket ({self.ws.close_code}); reconnecting")
        await self.connect()

    async def pings(self, count: int) -> None:
        await self._think(spread=(0.0, 1.0))  # staggered start
        for i in range(count):
            nonce = f"{self.student.username}-{i}"
            started = time.perf_counter()
            if await self._ping(nonce, started + self.cfg.timeout_s):
                self.stats.pings_ms.append((time.perf_counter() - started) * 1000)
            await self._think()

    async def _ping(self, nonce: str, deadline: float) -> bool:
        await self._send({"type": "ping", "nonce": nonce})
        while True:
            try:
                event, _ = await self._recv(deadline)
            except Reconnected:
                return False  # that round trip is lost; not a latency sample
            if event is None:
                return False
            if event.get("type") == "pong" and event.get("nonce") == nonce:
                return True

    async def turns(self, count: int, think: bool = True) -> None:
        if think:
            await self._think(spread=(0.0, 1.0))  # staggered start
        for i in range(count):
            client_id = f"{self.student.username}-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
            script = self.student.script
            self.stats.turns.append(await self.turn(client_id, script[i % len(script)]))
            if think:
                await self._think()

    async def turn(self, client_id: str, text: str) -> Turn:
        """Send one message; wait for the tutor's final reply to it."""
        turn = Turn(client_id=client_id, sent_wall=time.time())
        started = time.perf_counter()
        deadline = started + self.cfg.timeout_s
        frame = {"type": "student_message", "client_id": client_id, "text": text}
        await self._send(frame)
        seq = None
        # Deltas/replies seen before our ack (the consumer acks before it
        # handles channel-layer events, but do not rely on it), by reply_to.
        early_delta: dict[int, float] = {}
        early_final: dict[int, float] = {}
        while True:
            try:
                event, now = await self._recv(deadline)
            except Reconnected:
                await self._send(frame)  # same client_id: the server acks it as a duplicate
                continue
            if event is None:
                turn.error = "timeout"
                return turn
            kind = event.get("type")
            if kind == "ack" and event.get("client_id") == client_id:
                seq = event["seq"]
                if turn.ack_ms is None:
                    turn.ack_ms = (now - started) * 1000
                if seq in early_delta and turn.first_delta_ms is None:
                    turn.first_delta_ms = (early_delta[seq] - started) * 1000
                if seq in early_final:
                    return self._done(turn, started, early_final[seq])
            elif kind == "error" and event.get("client_id") == client_id:
                turn.error = f"error {event.get('code')}: {event.get('detail')}"
                return turn
            elif kind == "delta":
                if seq is None:
                    early_delta.setdefault(event["reply_to"], now)
                elif event["reply_to"] == seq and turn.first_delta_ms is None:
                    turn.first_delta_ms = (now - started) * 1000
            elif kind == "message" and event.get("role") == "tutor" and event.get("reply_to") is not None:
                if seq is None:
                    early_final[event["reply_to"]] = now
                elif event["reply_to"] == seq:
                    return self._done(turn, started, now)

    @staticmethod
    def _done(turn: Turn, started: float, at: float) -> Turn:
        turn.latency_ms = (at - started) * 1000
        turn.final_wall = turn.sent_wall + (at - started)
        return turn

    async def resend_first(self) -> None:
        """Re-send the first message with its client_id: expect a duplicate ack."""
        first = self.stats.turns[0]
        self.stats.resent += 1
        await self._send({"type": "student_message", "client_id": first.client_id, "text": self.student.script[0]})
        deadline = time.perf_counter() + self.cfg.timeout_s
        while True:
            try:
                event, _ = await self._recv(deadline)
            except Reconnected:
                return
            if event is None:
                return
            if event.get("type") == "ack" and event.get("client_id") == first.client_id:
                self.stats.resend_acked_duplicate += bool(event.get("duplicate"))
                return

    async def _think(self, spread: tuple[float, float] = (0.5, 1.5)) -> None:
        """Pause ``think_ms`` times a random factor, so students drift apart
        instead of all sending at the same instant."""
        if self.cfg.think_ms:
            await asyncio.sleep(self.cfg.think_ms * self._rng.uniform(*spread) / 1000)


async def connect_all(cfg: Config, students: list[Student]) -> list[Client]:
    clients = [Client(cfg, s) for s in students]
    await asyncio.gather(*(c.connect() for c in clients))
    return clients


async def warm_up(cfg: Config, students: list[Student]) -> None:
    """A few turns so every worker process has its DB and Redis connections
    (with a long timeout: a cold pool process may import a lot first)."""
    clients = await connect_all(replace(cfg, timeout_s=max(cfg.timeout_s, 120.0)), students)
    await asyncio.gather(*(c.turns(3, think=False) for c in clients))
    failed = [t for c in clients for t in c.stats.turns if t.latency_ms is None]
    await asyncio.gather(*(c.close() for c in clients))
    if failed:
        raise SystemExit(f"warm-up turns failed: {[t.error for t in failed]}")
    log(f"warm-up: {sum(len(c.stats.turns) for c in clients)} turns answered")


@dataclass
class LoadResult:
    clients: list[Client]
    elapsed_s: float  # the turn phase
    cpu: dict[str, float]  # CPU seconds per process during the turn phase
    db_sessions: int  # PostgreSQL connections opened to the bench database during the turn phase


async def run_load(cfg: Config, students: list[Student], pids: dict[str, int]) -> LoadResult:
    """Connect everyone, ping phase, turn phase, resend check."""
    clients = await connect_all(cfg, students)
    log(f"{len(clients)} clients connected and greeted")
    await asyncio.gather(*(c.pings(cfg.messages) for c in clients))
    log(f"baseline: {len(clients) * cfg.messages} pings")
    cpu_before, sessions_before = cpu_snapshot(cfg, pids), db_sessions(cfg)
    started = time.perf_counter()
    await asyncio.gather(*(c.turns(cfg.messages) for c in clients))
    elapsed = time.perf_counter() - started
    cpu = cpu_split(cpu_before, cpu_snapshot(cfg, pids), elapsed)
    log(f"load: {len(clients) * cfg.messages} turns in {elapsed:.1f}s; CPU seconds {cpu}")
    await asyncio.gather(*(c.resend_first() for c in clients[: cfg.resend_sample]))
    await asyncio.gather(*(c.close() for c in clients))
    return LoadResult(clients, elapsed, cpu, db_sessions(cfg) - sessions_before)


# --- results ----------------------------------------------------------------
COUNT_SQL = """
SELECT
  count(*) FILTER (WHERE m.role = 'student'),
  count(DISTINCT m.client_id) FILTER (WHERE m.role = 'student'),
  count(*) FILTER (WHERE m.role = 'tutor' AND m.reply_to_id IS NOT NULL),
  count(*) FILTER (WHERE m.role = 'student'
                   AND NOT EXISTS (SELECT 1 FROM dialogue_message r WHERE r.reply_to_id = m.id)),
  coalesce(max(m.turn_attempts), 0)
FROM dialogue_message m
WHERE m.session_id = ANY(%s)
"""

STAGES_SQL = """
SELECT s.client_id, s.created_at, r.created_at
FROM dialogue_message s JOIN dialogue_message r ON r.reply_to_id = s.id
WHERE s.session_id = ANY(%s) AND s.role = 'student'
"""


def count_stored(cfg: Config, session_ids: list[int], wait_s: float) -> dict:
    """Counts for the bench sessions; waits up to ``wait_s`` for late replies."""
    deadline = time.monotonic() + wait_s
    with psycopg.connect(cfg.database_url) as conn:
        while True:
            stored, distinct, replies, unanswered, max_attempts = conn.execute(COUNT_SQL, (session_ids,)).fetchone()
            conn.commit()
            if unanswered == 0 or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    return {
        "stored": stored,
        "distinct_client_ids": distinct,
        "tutor_replies": replies,
        "unanswered": unanswered,
        "max_turn_attempts": max_attempts,
    }


def stage_times(cfg: Config, session_ids: list[int], turns: list[Turn]) -> tuple[dict, int]:
    """Split answered turns at the stored student message and the stored reply.

    Also returns how many timed-out turns had their reply stored in time: the
    worker answered, but the reply never reached the socket.
    """
    by_id = {t.client_id: t for t in turns}
    stages: dict[str, list[float]] = {"send_to_stored": [], "stored_to_reply_stored": [], "reply_stored_to_client": []}
    undelivered = 0
    with psycopg.connect(cfg.database_url) as conn:
        for client_id, student_at, reply_at in conn.execute(STAGES_SQL, (session_ids,)):
            turn = by_id.get(client_id)
            if turn is None:
                continue
            if turn.final_wall is None:
                undelivered += turn.error == "timeout" and reply_at.timestamp() < turn.sent_wall + cfg.timeout_s
                continue
            stages["send_to_stored"].append((student_at.timestamp() - turn.sent_wall) * 1000)
            stages["stored_to_reply_stored"].append((reply_at.timestamp() - student_at.timestamp()) * 1000)
            stages["reply_stored_to_client"].append((turn.final_wall - reply_at.timestamp()) * 1000)
    return {name: summary(values, (50, 95, 99)) for name, values in stages.items()}, undelivered


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return round(ordered[int(rank) - 1], 1)


def summary(values: list[float], ps: tuple[int, ...]) -> dict:
    return {f"p{p}": percentile(values, p) for p in ps}


def report(cfg: Config, problem: str, load: LoadResult, counts: dict, stages: dict, undelivered: int) -> dict:
    clients, elapsed = load.clients, load.elapsed_s
    turns = [t for c in clients for t in c.stats.turns]
    # A turn with no reply counts at the timeout (a lower bound), so that lost
    # turns cannot make the percentiles look better than they are.
    latencies = [t.latency_ms if t.latency_ms is not None else cfg.timeout_s * 1000 for t in turns]
    pings = [p for c in clients for p in c.stats.pings_ms]
    turn_ms = {**summary(latencies, (50, 95, 99)), "max": round(max(latencies), 1) if latencies else None}
    ping_ms = summary(pings, (50, 95, 99))
    p95, ping_p95 = turn_ms["p95"], ping_ms["p95"]
    sent = len(turns)
    lost = sent - counts["stored"]
    duplicates = counts["stored"] - counts["distinct_client_ids"]
    timeouts = sum(t.error == "timeout" for t in turns)
    met = p95 is not None and p95 < TARGET_P95_MS and lost == duplicates == timeouts == counts["unanswered"] == 0
    return {
        "benchmark": "turn_latency",
        "mode": "postgres+redis+celery",
        "students": cfg.students,
        "messages_per_student": cfg.messages,
        "problem": problem,
        "turn_ms": turn_ms,
        "first_delta_ms": summary([t.first_delta_ms for t in turns if t.first_delta_ms is not None], (50, 95)),
        "baseline_ping_ms": ping_ms,
        "ratio_p95_vs_ping": round(p95 / ping_p95, 1) if p95 and ping_p95 else None,
        "sent": sent,
        "stored": counts["stored"],
        "lost": lost,
        "duplicates": duplicates,
        "unanswered": counts["unanswered"],
        "timeouts": timeouts,
        # Met: p95 under the target with nothing lost, duplicated, unanswered or timed out.
        "target": {"p95_ms": TARGET_P95_MS, "met": met},
        # Extras, beyond the headline numbers.
        "ack_ms": summary([t.ack_ms for t in turns if t.ack_ms is not None], (50, 95)),
        "stages_ms": stages,
        "replies_stored_in_time_but_not_delivered": undelivered,
        "errors": sum(t.error is not None and t.error != "timeout" for t in turns),
        "tutor_replies": counts["tutor_replies"],
        "max_turn_attempts": counts["max_turn_attempts"],
        "disconnects": sum(c.stats.disconnects for c in clients),
        "resent": sum(c.stats.resent for c in clients),
        "resend_acked_duplicate": sum(c.stats.resend_acked_duplicate for c in clients),
        "turns_per_s": round(sent / elapsed, 1) if elapsed else None,
        "cpu_s_during_turns": load.cpu,
        # Less sensitive to other load on the machine than the latencies are.
        "cpu_ms_per_turn": {
            name: round(1000 * seconds / sent, 1)
            for name, seconds in load.cpu.items()
            if name in ("uvicorn", "celery", "postgres (bench db)", "redis-server") and sent
        },
        "db_connections_opened_during_turns": load.db_sessions,
        "workers": cfg.workers,
        "think_ms": cfg.think_ms,
        "variants": list(cfg.variants),
    }


# --- main -------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> Config:
    d = Config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=d.students)
    parser.add_argument("--messages", type=int, default=d.messages, help="student messages per student")
    parser.add_argument("--database-url", default=d.database_url, help="dropped and re-created")
    parser.add_argument("--redis-url", default=d.redis_url, help="this Redis database is flushed")
    parser.add_argument("--port", type=int, default=d.port)
    parser.add_argument("--workers", type=int, default=d.workers, help="Celery worker concurrency")
    parser.add_argument("--timeout", type=float, default=d.timeout_s, help="seconds per message")
    parser.add_argument("--think-ms", type=int, default=d.think_ms, help="pause between reply and next message")
    parser.add_argument("--resend-sample", type=int, default=d.resend_sample)
    parser.add_argument("--drop-db", action="store_true", help="drop the bench database at the end")
    parser.add_argument("--problem", default=d.problem, help="problem key in MATH5A's curricula")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        choices=sorted(VARIANTS),
        help="try a candidate product change (repeatable): "
        + "; ".join(f"{name}: {what}" for name, what in VARIANTS.items()),
    )
    a = parser.parse_args(argv)
    return Config(
        students=a.students,
        messages=a.messages,
        database_url=a.database_url,
        redis_url=a.redis_url,
        port=a.port,
        workers=a.workers,
        timeout_s=a.timeout,
        think_ms=a.think_ms,
        resend_sample=a.resend_sample,
        drop_db=a.drop_db,
        problem=a.problem,
        variants=tuple(a.variant),
    )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    if not port_free(cfg.port):
        raise SystemExit(f"port {cfg.port} is in use; pass --port")
    reset_database(cfg)
    flush_redis(cfg)
    manage(cfg, "migrate", "--noinput")
    manage(cfg, "load_demo")
    setup_django(cfg)
    problem = find_problem(cfg.problem)
    students = create_students(STUDENT_PREFIX, cfg.students, problem)
    warmup = create_students(WARMUP_PREFIX, max(2, cfg.workers), problem)
    from django.db import connections

    connections.close_all()
    log(f"{len(students)} students with sessions on {problem}; they answer {list(students[0].script)}")
    logdir = Path(tempfile.mkdtemp(prefix="turn_latency-"))
    with services(cfg, logdir) as procs:
        wait_healthy(cfg, procs)
        wait_worker(procs)
        wait_idle(cfg, procs)
        asyncio.run(warm_up(cfg, warmup))
        load = asyncio.run(run_load(cfg, students, {name: proc.pid for name, proc in procs.items()}))
        turns = [t for c in load.clients for t in c.stats.turns]
        session_ids = [s.session_id for s in students]
        # Timed-out turns may still be answered: give them one more timeout.
        late = any(t.error == "timeout" for t in turns)
        counts = count_stored(cfg, session_ids, wait_s=cfg.timeout_s if late else 0)
    problem_key = getattr(problem, "key", None) or problem.slug
    result = report(cfg, problem_key, load, counts, *stage_times(cfg, session_ids, turns))
    if cfg.drop_db:
        drop_database(cfg)
        log("bench database dropped")
    else:
        log(f"bench database left for inspection: {cfg.database_url}")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

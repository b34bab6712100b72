"""N simulated students over real WebSockets against uvicorn, in the Redis/PostgreSQL mode.

    .venv/bin/python bench/load.py [--students 200] [--problems 2] [--think-min 5] [--think-max 15]
        [--uvicorn-workers 1] [--celery-pool prefork] [--celery-concurrency 2] [--soak [--soak-minutes 10]]

What it does
------------
One command: it drops and re-creates its own PostgreSQL database (default
``tg_load_bench``), flushes its own Redis database, runs ``migrate`` and
``load_demo``, creates the students (users enrolled in the demo classes, a
login written as a Django session, as the login view would), then starts the
server under test the way it is deployed in the distributed mode:
``uvicorn tutor.asgi:application`` (``--uvicorn-workers`` processes) and
``celery -A tutor worker -Q agents`` (``--celery-pool``,
``--celery-concurrency``), with ``TURN_EXECUTOR=celery``,
``TUTOR_STREAM_DELAY_MS=0`` and ``DEBUG=0``.

Each student is a browser, minus the rendering: for each of its problems it
POSTs ``/problems/<id>/start/`` (the real ``session_open`` view, with a CSRF
cookie and header), loads the session page, opens the session's WebSocket
with the session cookie and a matching Origin, and works through the whole
problem as one of the simulated students of ``tutor/agents/simstudents.py``
(a misconception holder, a terse or a wordy correct student, a guesser, an
off-topic chatter, a hint abuser; each student plays them in turn, one per
problem), each message after a think time drawn from
``--think-min``..``--think-max`` seconds. A student who reads the tutor's
``progress.done`` moves on to its next problem (a new page, a new socket).

Phases, all in one run against the same server: a short warm-up (every
worker process has run turns; not measured), the **baseline** (one student
alone, ``--baseline-problems`` problems), then the **load** (``--students``
at once, ``--problems`` each). With
``--soak`` the load phase runs for ``--soak-minutes`` (students keep taking
new problems) and the server's memory is sampled throughout.

What is measured
----------------
- turn latency: send ``student_message`` -> the tutor's stored ``message``
  whose ``reply_to`` is the seq the server acked for it; p50/p95/p99/max;
- lost: acked messages with no reply within ``--timeout`` (30 s), plus acked
  messages missing from the database; ``unacked``: no ack in that time;
- duplicated: a second, different tutor reply to one student message on the
  socket, or in the database (``Message`` rows per ``reply_to``, student rows
  per ``client_id``);
- errors: ``error`` events, socket failures (connect refused, server closed
  the socket: the client reconnects with ``?last_seq=`` and re-sends, like
  the browser), HTTP 5xx (and any other unexpected status);
- CPU seconds per process group (uvicorn, celery, this client, PostgreSQL
  backends of the bench database, redis-server, the rest of the machine),
  the client's CPU share and event-loop lag: a saturated client shows;
- server memory: VmRSS and PSS summed over the uvicorn and celery process
  trees (PSS splits pages shared by prefork children fairly).

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidHandshake  # noqa: E402

from bench.turn_latency import (  # noqa: E402
    _tree,
    check_alive,
    cpu_snapshot,
    cpu_split,
    drop_database,
    flush_redis,
    log,
    manage,
    percentile,
    port_free,
    reset_database,
    stop,
    wait_idle,
    wait_worker,
)
from tutor.agents.simstudents import (  # noqa: E402
    Guesser,
    HelpAbuser,
    MisconceptionStudent,
    Observation,
    OffTopicStudent,
    SimStudent,
    TerseStudent,
    WordsStudent,
)

TARGET_P95_MS = 300.0
TARGET_MEMORY_GROWTH = 0.10
CLASSES = ("MATH5A", "BIO9AA")  # the demo classes: fractions (numbers, choices), cell biology (free text)
# Every persona that finishes problems (injectors never try to: they would only hit the turn cap).
PERSONAS = ("misconception", "terse_correct", "words", "guesser", "off_topic", "help_abuser")
DELTA_PREFIX = '{"type": "delta"'  # json.dumps of a DeltaOut: deltas are counted, not parsed


@dataclass(frozen=True)
class Config:
    students: int = 200
    problems: int = 2  # problems per student in the load phase
    baseline_problems: int = 3  # the one baseline student's problems (about 12 turns)
    # A student reads the tutor's reply (one to three sentences) and works out and types an answer:
    # 5-15 s, 10 s on average, so 200 students send about 20 messages a second (see bench/README.md).
    think_min_s: float = 5.0
    think_max_s: float = 15.0
    ramp_s: float = 10.0  # students arrive spread over this many seconds
    timeout_s: float = 30.0  # a reply later than this is lost
    max_turns: int = 30  # per problem: a persona that has not finished by then moves on
    uvicorn_workers: int = 1
    celery_pool: str = "prefork"
    celery_concurrency: int = 2
    classes: tuple[str, ...] = CLASSES
    soak: bool = False
    soak_minutes: float = 10.0
    sample_s: float = 30.0  # memory sampling interval during the soak
    database_url: str = "postgres://postgres@127.0.0.1:5432/tg_load_bench"
    redis_url: str = "redis://127.0.0.1:6379/10"
    port: int = 8790
    keep_db: bool = False
    seed: int = 0
    skip_baseline: bool = False
    demo_history: bool = True  # run load_demo (users, classes, past turns); else curricula and classes only
    web_db_pool: int | None = None  # DB_POOL_MAX_SIZE for uvicorn only (0: a connection per request); None: the default

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for manage.py, uvicorn, the worker and this process."""
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tutor.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "TURN_EXECUTOR": "celery",
            "TUTOR_STREAM_DELAY_MS": "0",
            "TUTOR_BACKEND": "scripted",
            "DEBUG": "0",
            "SECURE": "0",
            "SECRET_KEY": "bench-only-secret-key-not-for-production",
            "LOG_LEVEL": "WARNING",
        }


@dataclass(frozen=True)
class Login:
    username: str
    cookie: str  # the Django session key
    classroom: str


@dataclass(frozen=True)
class Catalogue:
    """Each class's problems, as (problem pk, ProblemKey) in a stable order."""

    by_class: dict[str, list[tuple[int, object]]]


# --- set-up -----------------------------------------------------------------
def setup_django(cfg: Config) -> None:
    os.environ.update(cfg.env())
    import django

    django.setup()


def demo_classes_only() -> None:
    """The demo curricula and the two demo classes, without ``load_demo``'s users and tutoring history.

    ``--no-demo-history``: a quicker set-up (the CI smoke test), the same
    curricula and class codes. ``load_demo`` also writes a class's worth of
    past turns and queues their aggregate refreshes, which is the realistic
    default.
    """
    from django.db import transaction

    from tutor.accounts.management.commands.load_demo import DEMO_CLASSES, DEMO_DIR
    from tutor.accounts.models import Classroom, User
    from tutor.curricula.importer import curriculum_import
    from tutor.curricula.package import read_package

    with transaction.atomic():
        curricula = {}
        for path in sorted(DEMO_DIR.glob("*.yaml")):
            doc = read_package(path.read_bytes(), path.name)
            curricula[doc["id"]] = curriculum_import(doc).curriculum
        teacher = User(username="load-teacher", role=User.Role.TEACHER)
        teacher.set_unusable_password()
        teacher.save()
        for name, code, _students, assigned in DEMO_CLASSES:
            classroom = Classroom.objects.create(name=name, code=code, teacher=teacher)
            classroom.curricula.add(*(curricula[slug] for slug in assigned if slug in curricula))
    log(f"demo curricula imported: {', '.join(curricula)}")


def create_logins(prefix: str, count: int, classes: tuple[str, ...]) -> list[Login]:
    """Students enrolled in one demo class each (round robin), with a login cookie.

    Unusable passwords (hashing hundreds takes minutes); the login is a Django
    session stored directly, as the login view would store it.
    """
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from tutor.accounts.models import Classroom, Enrollment, User

    rooms = {code: Classroom.objects.get(code=code) for code in classes}
    users = []
    for i in range(count):
        user = User(username=f"{prefix}{i}", role=User.Role.STUDENT, first_name="Load", last_name=str(i))
        user.set_unusable_password()
        users.append(user)
    users = User.objects.bulk_create(users)
    Enrollment.objects.bulk_create(
        Enrollment(classroom=rooms[classes[i % len(classes)]], student=u) for i, u in enumerate(users)
    )
    logins = []
    for i, user in enumerate(users):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        logins.append(Login(user.username, store.session_key, classes[i % len(classes)]))
    return logins


def catalogue(classes: tuple[str, ...]) -> Catalogue:
    """The problems a student of each class may open, with the pipeline's answer key (for the personas)."""
    from tutor.accounts.models import Classroom
    from tutor.curricula.models import Problem
    from tutor.dialogue.actions import problem_key

    by_class = {}
    for code in classes:
        problems = (
            Problem.objects.filter(curriculum__in=Classroom.objects.get(code=code).curricula.all())
            .prefetch_related("subproblems", "concepts")
            .order_by("curriculum_id", "position", "pk")
        )
        by_class[code] = [(p.pk, problem_key(p)) for p in problems]
        if not by_class[code]:
            raise SystemExit(f"class {code} has no problems")
    return Catalogue(by_class)


def persona_for(kind: str, key, number: int, seed: int) -> SimStudent:
    """A simulated student of ``kind`` on ``key``; ``number`` picks among its misconceptions."""
    if kind == "misconception":
        held = [(i, m) for i, step in enumerate(key.steps) for m in step.misconceptions if "answer" in m]
        if held:
            index, misconception = held[number % len(held)]
            return MisconceptionStudent(key, index, misconception, seed)
        kind = "guesser"
    return {
        "terse_correct": TerseStudent,
        "words": WordsStudent,
        "guesser": Guesser,
        "off_topic": OffTopicStudent,
        "help_abuser": HelpAbuser,
    }[kind](key, seed)


# --- server under test ------------------------------------------------------
@contextmanager
def services(cfg: Config, logdir: Path) -> Iterator[dict[str, subprocess.Popen]]:
    uvicorn = [sys.executable, "-m", "uvicorn", "tutor.asgi:application", "--host", "127.0.0.1",
               "--port", str(cfg.port), "--log-level", "warning"]  # fmt: skip
    if cfg.uvicorn_workers > 1:
        uvicorn += ["--workers", str(cfg.uvicorn_workers)]
    celery = [sys.executable, "-m", "celery", "-A", "tutor", "worker", "-Q", "agents", "--pool", cfg.celery_pool,
              "--concurrency", str(cfg.celery_concurrency), "--loglevel", "WARNING",
              "-n", f"load-{os.getpid()}@%h"]  # fmt: skip
    web_env = cfg.env()
    if cfg.web_db_pool is not None:
        web_env["DB_POOL_MAX_SIZE"] = str(cfg.web_db_pool)
        web_env["DB_CONN_MAX_AGE"] = "0"  # with no pool: a connection per request, as Django advises under ASGI
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, command, env in (("uvicorn", uvicorn, web_env), ("celery", celery, cfg.env())):
            with (logdir / f"{name}.log").open("w") as out:
                procs[name] = subprocess.Popen(
                    command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            log(f"{name} started (pid {procs[name].pid}, log {logdir / f'{name}.log'})")
        yield procs
    finally:
        for name, proc in procs.items():
            stop(proc, name)


def wait_ready(cfg: Config, procs: dict[str, subprocess.Popen], timeout_s: float = 90.0) -> None:
    """Poll ``/readyz`` (every dependency checked) until 200; ``/healthz`` where there is no ``/readyz``."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    path = "/readyz"
    while time.monotonic() < deadline:
        check_alive(procs)
        try:
            with urllib.request.urlopen(f"{cfg.origin}{path}", timeout=2) as response:
                log(f"{path}: {response.status}")
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and path == "/readyz":
                path = "/healthz"
            last = f"{path} {exc.code}"
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.25)
    raise SystemExit(f"the server was not ready after {timeout_s:.0f}s: {last}")


def _status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pids: dict[str, int]) -> dict:
    """RSS and PSS in MB summed over each service's process tree, and in all."""
    out: dict[str, float] = {}
    rss_total = pss_total = 0
    for name, pid in pids.items():
        tree = _tree(pid)
        rss = sum(_status_kb(p, "VmRSS") for p in tree)
        pss = sum(_pss_kb(p) for p in tree)
        out[f"{name}_rss_mb"] = round(rss / 1024, 1)
        out[f"{name}_processes"] = len(tree)
        rss_total += rss
        pss_total += pss
    out["rss_mb"] = round(rss_total / 1024, 1)
    out["pss_mb"] = round(pss_total / 1024, 1)
    return out


# --- the clients ------------------------------------------------------------
@dataclass
class PhaseStats:
    """Everything the clients of one phase saw."""

    turn_ms: list[float] = field(default_factory=list)
    first_delta_ms: list[float] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)  # POST start + GET the session page
    sent: int = 0
    acked: set[str] = field(default_factory=set)
    lost: int = 0  # acked, no reply within the timeout
    unacked: int = 0  # no ack within the timeout
    late_replies: int = 0  # replies to messages already counted lost
    duplicated: int = 0  # a second, different tutor reply to one student message
    duplicate_deliveries: int = 0  # the same stored reply delivered twice on one socket
    error_events: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)
    socket_failures: int = 0
    http_5xx: int = 0
    http_unexpected: int = 0
    deltas: int = 0
    problems_finished: int = 0
    problems_unfinished: int = 0  # hit max_turns or a failure
    session_ids: set[int] = field(default_factory=set)

    def error(self, code: str) -> None:
        self.error_events += 1
        self.error_codes[code] = self.error_codes.get(code, 0) + 1


class Failed(Exception):
    """This problem cannot go on (the socket will not reconnect, a page failed)."""


class Browser:
    """One student: pages over HTTP, the session over a WebSocket, a persona typing."""

    def __init__(self, cfg: Config, login: Login, problems: list[tuple[int, object]], number: int, stats: PhaseStats):
        self.cfg = cfg
        self.login = login
        self.problems = problems
        self.number = number
        self.stats = stats
        self.rng = random.Random(f"{cfg.seed}:{login.username}")
        self.csrf = "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(32))
        self.cookie = f"sessionid={login.cookie}; csrftoken={self.csrf}"
        self.ids = itertools.count()
        self.ws: ClientConnection | None = None
        self.session_id = 0
        self.last_seq = 0
        self.reply_for: dict[int, int] = {}  # student seq -> tutor reply seq, for this session
        self.given_up: set[int] = set()  # student seqs counted lost

    async def run(self, count: int | None, until: float | None) -> None:
        """``count`` problems, or problems until ``until`` (perf_counter), whichever is given."""
        await asyncio.sleep(self.rng.uniform(0, self.cfg.ramp_s))
        offset = self.number * 7  # students of a class spread over its problems
        for j in itertools.count():
            if (count is not None and j >= count) or (until is not None and time.perf_counter() >= until):
                return
            pk, key = self.problems[(offset + j) % len(self.problems)]
            kind = PERSONAS[(self.number + j) % len(PERSONAS)]  # each student plays every persona in turn
            try:
                await self.problem(pk, key, kind, until)
            except Failed as exc:
                self.stats.problems_unfinished += 1
                log(f"{self.login.username}: problem {key.id} abandoned: {exc}")
                # A person waits a moment before trying again; no retry storm against a failing server.
                await asyncio.sleep(self.rng.uniform(self.cfg.think_min_s, self.cfg.think_max_s))
            finally:
                if self.ws is not None:
                    await self.ws.close()
                    self.ws = None

    # HTTP: a minimal HTTP/1.1 client, one connection per request, as cheap as it gets.
    async def http(self, method: str, path: str) -> tuple[int, dict[str, str]]:
        headers = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.cfg.port}",
            f"Cookie: {self.cookie}",
            "Connection: close",
        ]
        if method == "POST":
            headers += [f"Origin: {self.cfg.origin}", f"X-CSRFToken: {self.csrf}", "Content-Length: 0"]
        reader, writer = await asyncio.open_connection("127.0.0.1", self.cfg.port)
        try:
            writer.write(("\r\n".join(headers) + "\r\n\r\n").encode())
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), self.cfg.timeout_s)
        finally:
            writer.close()
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        parsed = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            parsed[name.strip().lower()] = value.strip()
        if status >= 500:
            self.stats.http_5xx += 1
        return status, parsed

    async def open_page(self, problem_pk: int) -> None:
        started = time.perf_counter()
        try:
            status, headers = await self.http("POST", f"/problems/{problem_pk}/start/")
            if status != 302 or "/sessions/" not in headers.get("location", ""):
                self.stats.http_unexpected += status < 500
                raise Failed(f"POST start answered {status} {headers.get('location', '')}")
            self.session_id = int(headers["location"].rstrip("/").rsplit("/", 1)[1])
            status, _ = await self.http("GET", f"/sessions/{self.session_id}/")
        except (OSError, TimeoutError, ValueError, IndexError) as exc:
            self.stats.socket_failures += 1
            raise Failed(f"HTTP failed: {exc!r}") from None
        if status != 200:
            self.stats.http_unexpected += status < 500
            raise Failed(f"session page answered {status}")
        self.stats.page_ms.append((time.perf_counter() - started) * 1000)
        self.stats.session_ids.add(self.session_id)

    async def connect(self) -> None:
        for attempt in range(3):
            try:
                self.ws = await connect(
                    f"ws://127.0.0.1:{self.cfg.port}/ws/sessions/{self.session_id}/?last_seq={self.last_seq}",
                    origin=self.cfg.origin,
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=self.cfg.timeout_s,
                    compression=None,
                )
                return
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                self.stats.socket_failures += 1
                log(f"{self.login.username}: connect failed ({exc!r}), attempt {attempt + 1}")
                await asyncio.sleep(1)
        raise Failed("could not open the WebSocket")

    async def recv(self, deadline: float, resend: str | None) -> str | None:
        """The next frame, or None at the deadline; reconnects (and re-sends) if the server closes."""
        while True:
            try:
                return await asyncio.wait_for(self.ws.recv(), max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                return None
            except ConnectionClosed:
                self.stats.socket_failures += 1
                log(f"{self.login.username}: socket closed ({self.ws.close_code}); reconnecting")
                await self.connect()
                if resend is not None:
                    await self.ws.send(resend)

    def observe(self, event: dict) -> None:
        """Bookkeeping for every stored message: last seq, duplicates, late replies."""
        seq = event["seq"]
        self.last_seq = max(self.last_seq, seq)
        reply_to = event.get("reply_to")
        if event.get("role") != "tutor" or reply_to is None:
            return
        known = self.reply_for.get(reply_to)
        if known is None:
            self.reply_for[reply_to] = seq
            if reply_to in self.given_up:
                self.stats.late_replies += 1
        elif known == seq:
            self.stats.duplicate_deliveries += 1
        else:
            self.stats.duplicated += 1

    async def problem(self, pk: int, key, kind: str, until: float | None) -> None:
        await self.open_page(pk)
        self.last_seq, self.reply_for, self.given_up = 0, {}, set()
        await self.connect()
        persona = persona_for(kind, key, self.number, self.cfg.seed + self.number)
        persona.start(key)
        obs = await self.greeting()
        for _ in range(self.cfg.max_turns):
            if obs.done:
                self.stats.problems_finished += 1
                return
            if until is not None and time.perf_counter() >= until:
                return  # the soak is over; not a failure
            turn = persona.act(obs)
            await asyncio.sleep(self.rng.uniform(self.cfg.think_min_s, self.cfg.think_max_s))
            obs = await self.exchange(turn.kind, turn.text) or obs
        self.stats.problems_unfinished += 1

    async def greeting(self) -> Observation:
        deadline = time.perf_counter() + self.cfg.timeout_s
        while True:
            raw = await self.recv(deadline, None)
            if raw is None:
                raise Failed("no greeting")
            if raw.startswith(DELTA_PREFIX):
                continue
            event = json.loads(raw)
            if event.get("type") == "message":
                self.observe(event)
                if event.get("role") == "tutor" and "progress" in event:
                    return _observation(event)

    async def exchange(self, kind: str, text: str) -> Observation | None:
        """Send one message; the observation of the tutor's reply, or None if lost."""
        client_id = f"{self.login.username}-{next(self.ids)}"
        if kind == "hint_request":
            frame = json.dumps({"type": "hint_request", "client_id": client_id})
        else:
            frame = json.dumps({"type": "student_message", "client_id": client_id, "text": text})
        stats = self.stats
        stats.sent += 1
        started = time.perf_counter()
        deadline = started + self.cfg.timeout_s
        try:
            await self.ws.send(frame)
        except ConnectionClosed:
            stats.socket_failures += 1
            await self.connect()
            await self.ws.send(frame)
        seq = None
        first_delta = None
        early: dict[int, tuple[float, dict]] = {}  # replies seen before our ack, by reply_to
        while True:
            raw = await self.recv(deadline, frame)
            now = time.perf_counter()
            if raw is None:
                if seq is None:
                    stats.unacked += 1
                else:
                    stats.lost += 1
                    self.given_up.add(seq)
                return None
            if raw.startswith(DELTA_PREFIX):
                stats.deltas += 1
                if first_delta is None:
                    first_delta = now
                continue
            event = json.loads(raw)
            kind_out = event.get("type")
            if kind_out == "message":
                self.observe(event)
                reply_to = event.get("reply_to")
                if event.get("role") == "tutor" and reply_to is not None:
                    if reply_to == seq:
                        return self._answered(started, first_delta, now, event)
                    if seq is None:
                        early[reply_to] = (now, event)
            elif kind_out == "ack" and event.get("client_id") == client_id:
                if seq is None:
                    seq = event["seq"]
                    self.last_seq = max(self.last_seq, seq)
                    stats.acked.add(client_id)
                    stats.ack_ms.append((now - started) * 1000)
                    if seq in early:
                        return self._answered(started, first_delta, *early[seq])
            elif kind_out == "error":
                stats.error(str(event.get("code")))
                if event.get("client_id") == client_id:
                    return None

    def _answered(self, started: float, first_delta: float | None, at: float, event: dict) -> Observation:
        self.stats.turn_ms.append((at - started) * 1000)
        if first_delta is not None:
            self.stats.first_delta_ms.append((first_delta - started) * 1000)
        return _observation(event)


def _observation(event: dict) -> Observation:
    progress = event.get("progress") or {}
    return Observation(
        utterance=event.get("text", ""),
        record=event.get("record") or {},
        index=int(progress.get("subproblem", 0)),
        done=bool(progress.get("done")),
    )


async def _loop_lag(samples: list[float], stop_at: asyncio.Event, every: float = 0.1) -> None:
    """How late the client's event loop wakes up: a saturated client shows here."""
    while not stop_at.is_set():
        started = time.perf_counter()
        await asyncio.sleep(every)
        samples.append((time.perf_counter() - started - every) * 1000)


async def _sample_memory(pids: dict[str, int], samples: list[dict], t0: float, every: float, done: asyncio.Event):
    while not done.is_set():
        samples.append({"t_s": round(time.perf_counter() - t0, 1), **memory(pids)})
        try:
            await asyncio.wait_for(done.wait(), every)
        except TimeoutError:
            pass


async def _sample_at_deadline(pids: dict[str, int], samples: list[dict], t0: float, after_s: float) -> None:
    """One sample when the soak's time is up (students then finish the turn in flight, and stop)."""
    await asyncio.sleep(after_s)
    samples.append({"t_s": round(time.perf_counter() - t0, 1), "deadline": True, **memory(pids)})


@dataclass
class Phase:
    name: str
    students: int
    stats: PhaseStats
    elapsed_s: float
    cpu: dict[str, float]
    loop_lag_ms: list[float]
    memory_samples: list[dict]


async def run_phase(
    name: str,
    cfg: Config,
    logins: list[Login],
    cat: Catalogue,
    pids: dict[str, int],
    problems: int | None,
    minutes: float | None = None,
) -> Phase:
    stats = PhaseStats()
    browsers = [Browser(cfg, login, cat.by_class[login.classroom], i, stats) for i, login in enumerate(logins)]
    done = asyncio.Event()
    lag: list[float] = []
    samples: list[dict] = []
    started = time.perf_counter()
    until = started + minutes * 60 if minutes else None
    watchers = [asyncio.create_task(_loop_lag(lag, done))]
    if minutes:
        watchers.append(asyncio.create_task(_sample_memory(pids, samples, started, cfg.sample_s, done)))
        watchers.append(asyncio.create_task(_sample_at_deadline(pids, samples, started, minutes * 60)))
    before = cpu_snapshot(cfg, pids)
    log(f"{name}: {len(browsers)} students" + (f" for {minutes} min" if minutes else f", {problems} problems each"))
    await asyncio.gather(*(b.run(problems, until) for b in browsers))
    elapsed = time.perf_counter() - started
    cpu = cpu_split(before, cpu_snapshot(cfg, pids), elapsed)
    if minutes:
        samples.append({"t_s": round(elapsed, 1), **memory(pids)})
    done.set()
    for watcher in watchers:
        watcher.cancel()  # the deadline sample, if every student stopped early
    await asyncio.gather(*watchers, return_exceptions=True)
    log(f"{name}: {stats.sent} messages, {len(stats.turn_ms)} answered in {elapsed:.1f}s; CPU {cpu}")
    return Phase(name, len(logins), stats, elapsed, cpu, lag, samples)


async def warm_up(cfg: Config, logins: list[Login], cat: Catalogue, pids: dict[str, int]) -> None:
    """One problem each, no think time: every worker process has loaded its models and connections."""
    quick = replace(cfg, think_min_s=0.0, think_max_s=0.0, ramp_s=0.0, timeout_s=120.0)
    phase = await run_phase("warm-up", quick, logins, cat, pids, problems=1)
    if phase.stats.lost or phase.stats.unacked or not phase.stats.turn_ms:
        raise SystemExit(f"warm-up failed: {phase.stats.lost} lost, {phase.stats.unacked} unacked")


# --- database checks ----------------------------------------------------------
COUNT_SQL = """
SELECT
  count(*) FILTER (WHERE m.role = 'student'),
  count(*) FILTER (WHERE m.role = 'tutor' AND m.reply_to_id IS NOT NULL),
  count(*) FILTER (WHERE m.role = 'student'
                   AND NOT EXISTS (SELECT 1 FROM dialogue_message r WHERE r.reply_to_id = m.id)),
  count(*) FILTER (WHERE m.role = 'student')
    - count(DISTINCT (m.session_id, m.client_id)) FILTER (WHERE m.role = 'student')
FROM dialogue_message m
WHERE m.session_id = ANY(%(ids)s)
"""
DUPLICATE_REPLIES_SQL = """
SELECT count(*) FROM (
  SELECT reply_to_id FROM dialogue_message
  WHERE session_id = ANY(%(ids)s) AND reply_to_id IS NOT NULL
  GROUP BY reply_to_id HAVING count(*) > 1
) d
"""
CLIENT_IDS_SQL = "SELECT client_id FROM dialogue_message WHERE session_id = ANY(%(ids)s) AND role = 'student'"


def database_counts(cfg: Config, stats: PhaseStats, wait_s: float) -> dict:
    """What PostgreSQL holds for the phase's sessions; waits up to ``wait_s`` for unanswered turns."""
    ids = {"ids": sorted(stats.session_ids)}
    deadline = time.monotonic() + wait_s
    with psycopg.connect(cfg.database_url, autocommit=True) as conn:
        while True:
            stored, replies, unanswered, duplicate_client_ids = conn.execute(COUNT_SQL, ids).fetchone()
            if unanswered == 0 or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        duplicate_replies = conn.execute(DUPLICATE_REPLIES_SQL, ids).fetchone()[0]
        stored_ids = {row[0] for row in conn.execute(CLIENT_IDS_SQL, ids)}
    return {
        "student_messages": stored,
        "tutor_replies": replies,
        "unanswered": unanswered,
        "duplicate_replies": duplicate_replies,
        "duplicate_client_ids": duplicate_client_ids,
        "acked_not_stored": len(stats.acked - stored_ids),
    }


# --- the report -----------------------------------------------------------------
def _ms(values: list[float]) -> dict:
    out = {f"p{p}": percentile(values, p) for p in (50, 95, 99)}
    out["max"] = round(max(values), 1) if values else None
    return out


def phase_report(cfg: Config, phase: Phase, db: dict) -> dict:
    s = phase.stats
    lost = s.lost + db["acked_not_stored"]
    duplicated = s.duplicated + db["duplicate_replies"] + db["duplicate_client_ids"]
    errors = s.error_events + s.socket_failures + s.http_5xx + s.http_unexpected + s.unacked
    client_cpu = phase.cpu.get("bench_client", 0.0)
    return {
        "students": phase.students,
        "turns": s.sent,
        "answered": len(s.turn_ms),
        "turn_ms": _ms(s.turn_ms),
        "first_delta_ms": _ms(s.first_delta_ms),
        "ack_ms": _ms(s.ack_ms),
        "page_ms": _ms(s.page_ms),
        "lost": lost,
        "duplicated": duplicated,
        "errors": errors,
        "error_detail": {
            "error_events": s.error_events,
            "error_codes": s.error_codes,
            "socket_failures": s.socket_failures,
            "http_5xx": s.http_5xx,
            "http_unexpected": s.http_unexpected,
            "unacked": s.unacked,
        },
        "lost_detail": {"no_reply_in_time": s.lost, "acked_not_stored": db["acked_not_stored"]},
        "late_replies": s.late_replies,
        "duplicate_deliveries": s.duplicate_deliveries,
        "database": db,
        "problems_finished": s.problems_finished,
        "problems_unfinished": s.problems_unfinished,
        "elapsed_s": round(phase.elapsed_s, 1),
        "turns_per_s": round(s.sent / phase.elapsed_s, 1) if phase.elapsed_s else None,
        "cpu_s": phase.cpu,
        "cpu_ms_per_turn": {
            name: round(1000 * phase.cpu[name] / s.sent, 1)
            for name in ("uvicorn", "celery", "bench_client", "postgres (bench db)", "redis-server")
            if name in phase.cpu and s.sent
        },
        "client_cpu_pct": round(100 * client_cpu / phase.elapsed_s, 1) if phase.elapsed_s else None,
        "client_loop_lag_ms": {"p95": percentile(phase.loop_lag_ms, 95), "max": _ms(phase.loop_lag_ms)["max"]},
    }


def soak_report(samples: list[dict], minutes: float) -> dict:
    """Memory at the start of the soak (after its first fifth, at most a minute: caches and pools warm) and end.

    The end is the last sample, taken once the students stopped and the
    backlog drained (what the server keeps); ``rss_mb_at_deadline`` is the
    last sample within the soak's minutes, for telling the two apart.
    """
    warm_s = min(60.0, minutes * 60 / 5)
    start = next((m for m in samples if m["t_s"] >= warm_s), samples[0])
    end = samples[-1]
    at_deadline = [m for m in samples if m.get("deadline")] or [end]

    def pct(key: str, last: dict) -> float | None:
        return round(100 * (last[key] - start[key]) / start[key], 2) if start[key] else None

    per_service = [k for k in end if k.endswith("_rss_mb") and k != "rss_mb"]
    return {
        "minutes": minutes,
        "start_after_s": start["t_s"],
        "rss_mb_start": start["rss_mb"],
        "rss_mb_end": end["rss_mb"],
        "rss_growth_pct": pct("rss_mb", end),
        "rss_mb_at_deadline": at_deadline[-1]["rss_mb"],
        "rss_growth_at_deadline_pct": pct("rss_mb", at_deadline[-1]),
        "pss_mb_start": start["pss_mb"],
        "pss_mb_end": end["pss_mb"],
        "pss_growth_pct": pct("pss_mb", end),
        "per_service_rss_mb": {k: [start[k], end[k]] for k in per_service},
        "samples": [
            {"t_s": m["t_s"], "rss_mb": m["rss_mb"], "pss_mb": m["pss_mb"], **{k: m[k] for k in per_service}}
            for m in samples
        ],
    }


# --- main -------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> Config:
    d = Config()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=d.students)
    p.add_argument("--problems", type=int, default=d.problems, help="problems per student")
    p.add_argument("--baseline-problems", type=int, default=d.baseline_problems, help="of the 1-student baseline")
    p.add_argument("--think-min", type=float, default=d.think_min_s, help="seconds, before each message")
    p.add_argument("--think-max", type=float, default=d.think_max_s)
    p.add_argument("--ramp", type=float, default=d.ramp_s, help="students arrive over this many seconds")
    p.add_argument("--timeout", type=float, default=d.timeout_s, help="seconds to the reply; later is lost")
    p.add_argument("--max-turns", type=int, default=d.max_turns, help="per problem")
    p.add_argument("--uvicorn-workers", type=int, default=d.uvicorn_workers)
    p.add_argument("--celery-pool", choices=("prefork", "threads", "solo"), default=d.celery_pool)
    p.add_argument("--celery-concurrency", type=int, default=d.celery_concurrency)
    p.add_argument("--classes", default=",".join(d.classes), help="demo classes the students join, round robin")
    p.add_argument("--soak", action="store_true", help="run the load for --soak-minutes, sampling memory")
    p.add_argument("--soak-minutes", type=float, default=d.soak_minutes)
    p.add_argument("--database-url", default=d.database_url, help="dropped and re-created, dropped at the end")
    p.add_argument("--redis-url", default=d.redis_url, help="this Redis database is flushed")
    p.add_argument("--port", type=int, default=d.port)
    p.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--skip-baseline", action="store_true", help="no 1-student baseline phase")
    p.add_argument(
        "--web-db-pool",
        type=int,
        default=None,
        help="DB_POOL_MAX_SIZE for the web server only (0: no pool, a connection per request)",
    )
    p.add_argument(
        "--no-demo-history",
        action="store_true",
        help="import the demo curricula and classes only, not load_demo's users and past turns (quicker)",
    )
    a = p.parse_args(argv)
    if a.think_min < 0 or a.think_max < a.think_min:
        p.error("--think-min must be >= 0 and <= --think-max")
    if a.students < 1 or a.problems < 1:
        p.error("--students and --problems must be at least 1")
    return Config(
        students=a.students,
        problems=a.problems,
        baseline_problems=a.baseline_problems,
        think_min_s=a.think_min,
        think_max_s=a.think_max,
        ramp_s=a.ramp,
        timeout_s=a.timeout,
        max_turns=a.max_turns,
        uvicorn_workers=a.uvicorn_workers,
        celery_pool=a.celery_pool,
        celery_concurrency=a.celery_concurrency,
        classes=tuple(c.strip() for c in a.classes.split(",") if c.strip()),
        soak=a.soak,
        soak_minutes=a.soak_minutes,
        database_url=a.database_url,
        redis_url=a.redis_url,
        port=a.port,
        keep_db=a.keep_db,
        seed=a.seed,
        skip_baseline=a.skip_baseline,
        demo_history=not a.no_demo_history,
        web_db_pool=a.web_db_pool,
    )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    if not port_free(cfg.port):
        raise SystemExit(f"port {cfg.port} is in use; pass --port")
    load_before = os.getloadavg()
    reset_database(cfg)
    try:
        return _run(cfg, load_before)
    finally:
        if not cfg.keep_db:
            if "django" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
                from django.db import connections

                connections.close_all()
            drop_database(cfg)
            log("bench database dropped")


def _run(cfg: Config, load_before: tuple[float, float, float]) -> int:
    flush_redis(cfg)
    manage(cfg, "migrate", "--noinput")
    if cfg.demo_history:
        manage(cfg, "load_demo")
    setup_django(cfg)
    if not cfg.demo_history:
        demo_classes_only()
    cat = catalogue(cfg.classes)
    warm_count = 2 * max(cfg.celery_concurrency, cfg.uvicorn_workers)
    warm = create_logins("load-warmup-", warm_count, cfg.classes)
    baseline = create_logins("load-baseline-", 1, cfg.classes)
    students = create_logins("load-student-", cfg.students, cfg.classes)
    from django.db import connections

    connections.close_all()
    log(f"{len(students)} students in {', '.join(cfg.classes)}; problems: " +
        ", ".join(f"{c} {len(p)}" for c, p in cat.by_class.items()))  # fmt: skip
    logdir = Path(tempfile.mkdtemp(prefix="load-bench-"))
    with services(cfg, logdir) as procs:
        wait_ready(cfg, procs)
        wait_worker(procs)
        wait_idle(cfg, procs)
        pids = {name: proc.pid for name, proc in procs.items()}
        asyncio.run(warm_up(cfg, warm, cat, pids))
        check_alive(procs)
        memory_idle = memory(pids)
        phases = []
        if not cfg.skip_baseline:
            phases.append(asyncio.run(run_phase("baseline", cfg, baseline, cat, pids, problems=cfg.baseline_problems)))
        minutes = cfg.soak_minutes if cfg.soak else None
        problems = None if cfg.soak else cfg.problems
        phases.append(asyncio.run(run_phase("load", cfg, students, cat, pids, problems, minutes)))
        check_alive(procs)
        counts = [database_counts(cfg, ph.stats, wait_s=cfg.timeout_s if ph.stats.lost else 5.0) for ph in phases]
        memory_end = memory(pids)
    reports = {ph.name: phase_report(cfg, ph, db) for ph, db in zip(phases, counts, strict=True)}
    load = reports["load"]
    p95 = load["turn_ms"]["p95"]
    base_p95 = reports.get("baseline", {}).get("turn_ms", {}).get("p95")
    result: dict = {
        "benchmark": "load",
        "mode": "postgres+redis+celery",
        "students": cfg.students,
        "problems_per_student": None if cfg.soak else cfg.problems,
        "baseline_problems": 0 if cfg.skip_baseline else cfg.baseline_problems,
        "classes": list(cfg.classes),
        "personas": list(PERSONAS),
        "think_s": [cfg.think_min_s, cfg.think_max_s],
        "ramp_s": cfg.ramp_s,
        "timeout_s": cfg.timeout_s,
        "server": {
            "uvicorn_workers": cfg.uvicorn_workers,
            "celery_pool": cfg.celery_pool,
            "celery_concurrency": cfg.celery_concurrency,
            "web_db_pool": cfg.web_db_pool,
            "stream_delay_ms": 0,
            "backend": "scripted",
        },
        "turn_ms": load["turn_ms"],
        "errors": load["errors"],
        "lost": load["lost"],
        "duplicated": load["duplicated"],
        "baseline_turn_ms": reports.get("baseline", {}).get("turn_ms"),
        "ratio_p95_vs_baseline": round(p95 / base_p95, 2) if p95 and base_p95 else None,
        "phases": reports,
        "memory_mb": {"after_warm_up": memory_idle, "end": memory_end},
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
        "cpu_count": os.cpu_count(),
        "logs": str(logdir),
    }
    correct = all(r["lost"] == r["duplicated"] == r["database"]["unanswered"] == 0 for r in reports.values())
    targets = {
        "p95_ms": TARGET_P95_MS,
        "p95_met": p95 is not None and p95 < TARGET_P95_MS,
        "no_lost_or_duplicated": correct,
        "no_errors": all(r["errors"] == 0 for r in reports.values()),
    }
    if cfg.soak:
        soak = soak_report(phases[-1].memory_samples, cfg.soak_minutes)
        result["soak"] = soak
        targets["memory_growth_max_pct"] = 100 * TARGET_MEMORY_GROWTH
        growth = soak["rss_growth_pct"]
        targets["memory_met"] = growth is not None and growth < 100 * TARGET_MEMORY_GROWTH
    targets["met"] = all(v for k, v in targets.items() if k.endswith("_met") or k.startswith("no_"))
    result["targets"] = targets
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

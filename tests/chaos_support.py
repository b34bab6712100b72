"""Helpers for the resilience tests: a private Redis, free ports, child processes.

The chaos tests stop and restart Redis, kill Celery workers and cut database
connections. They never touch the shared Redis on 6379: each restartable Redis
is a ``redis-server`` of the test's own on a free port from 6390-6399, with no
persistence, so a restart loses everything in it, as a crashed Redis without
AOF would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
PRIVATE_REDIS_PORTS = range(6390, 6400)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A port on which a connection is refused at once."""
    return free_port()


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class PrivateRedis:
    """A ``redis-server`` this test owns: start, stop (SIGKILL or clean) and start again on the same port."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = directory
        self.port = port or next(p for p in PRIVATE_REDIS_PORTS if port_is_free(p))
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        log = open(self.directory / f"redis-{self.port}.log", "a")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            wait_until(lambda: self._pings(client), 10, f"redis-server on port {self.port}")
        finally:
            client.close()

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash. Everything in memory is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        self.kill()
        time.sleep(down_for)
        self.start()


def start_process(args: list[str], *, env: dict, log_path: Path) -> subprocess.Popen:
    """A child in a process group of its own, so that a kill reaches its children too."""
    log = open(log_path, "a")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return proc


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the child's process group (0: send nothing), wait, SIGKILL the group after 30 s."""
    if sig and proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # any child the leader left behind
    except ProcessLookupError:
        pass


def database_url(application_name: str) -> str:
    """The pytest-django test database as a URL for a child process, tagged with ``application_name``.

    The tag lets a test find that process's connections in ``pg_stat_activity``.
    """
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}?application_name={application_name}"


class SlowModelServer:
    """An OpenAI-compatible chat server that a test can hold mid-reply: a model server that is slow.

    The tutor's ``openai`` backend calls it inside the turn's transaction, so
    "the server got a request" means "a worker is in the middle of a turn",
    and holding the reply keeps it there for as long as the test needs.
    """

    def __init__(self, reply: str = "Let us look at that step again together."):
        import http.server
        import json
        import threading

        self.reply = reply
        self.requests = 0
        self.requested = threading.Event()
        self.released = threading.Event()
        self.released.set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                server.requests += 1
                server.requested.set()
                server.released.wait(60)
                chunk = {"choices": [{"delta": {"content": server.reply}}]}
                body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the worker that asked was killed meanwhile

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def hold(self) -> None:
        """The next requests wait until ``release()``."""
        self.requested.clear()
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class ChatClient:
    """A student's browser tab, reduced to its protocol (what ``frontend/static/js/chat.js`` does).

    Every message carries a ``client_id`` and is resent with it after a
    reconnect until it is acked; a reconnect asks for ``?last_seq=N`` where
    N is the highest seq below which it has everything. It records what it
    received on each connection, so a test can assert that no connection
    delivered a seq twice and that no replay repeated a seq the client had.
    """

    def __init__(self, base_url: str, session_id: int, cookie: str):
        self.origin = base_url
        self.url = base_url.replace("http://", "ws://") + f"/ws/sessions/{session_id}/"
        self.cookie = cookie
        self.ws = None
        self.received: dict[int, dict] = {}
        self.acked: dict[str, int] = {}
        self.unacked: dict[str, str] = {}
        self.errors: list[dict] = []
        self.connections = 0
        self.repeats: list[int] = []  # a seq delivered twice on one connection
        self.stale: list[int] = []  # a replayed seq at or below the connection's last_seq
        self._floor_at_connect = 0
        self._seen_on_connection: set[int] = set()

    @property
    def floor(self) -> int:
        """The highest seq N such that every seq 1..N has arrived."""
        n = 0
        while n + 1 in self.received:
            n += 1
        return n

    def connect(self) -> bool:
        from websockets.exceptions import InvalidHandshake
        from websockets.sync.client import connect

        floor = self.floor
        try:
            self.ws = connect(
                f"{self.url}?last_seq={floor}",
                additional_headers={"Cookie": self.cookie, "Origin": self.origin},
                open_timeout=5,
                close_timeout=1,
            )
        except (OSError, InvalidHandshake, TimeoutError):
            self.ws = None
            return False
        self.connections += 1
        self._floor_at_connect = floor
        self._seen_on_connection = set()
        for client_id, text in list(self.unacked.items()):
            self._send(client_id, text)
        return True

    def drop(self) -> None:
        """Lose the socket, as a tab whose network went away."""
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # already broken: nothing to close
                pass
        self.ws = None

    def send(self, client_id: str, text: str) -> None:
        self.unacked[client_id] = text
        self._send(client_id, text)

    def _send(self, client_id: str, text: str) -> None:
        import json

        from websockets.exceptions import ConnectionClosed

        if self.ws is None:
            return
        try:
            self.ws.send(json.dumps({"type": "student_message", "client_id": client_id, "text": text}))
        except ConnectionClosed:
            self.drop()

    def pump(self, seconds: float) -> None:
        """Read events for ``seconds``, reconnecting (and resending) whenever the socket is lost."""
        import json

        from websockets.exceptions import ConnectionClosed

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.ws is None and not self.connect():
                time.sleep(0.2)
                continue
            try:
                raw = self.ws.recv(timeout=max(0.01, min(0.2, deadline - time.monotonic())))
            except TimeoutError:
                continue
            except ConnectionClosed:
                self.drop()
                continue
            self._handle(json.loads(raw))

    def _handle(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "ack":
            self.acked[event["client_id"]] = event["seq"]
            self.unacked.pop(event["client_id"], None)
        elif kind == "message":
            seq = event["seq"]
            if seq in self._seen_on_connection:
                self.repeats.append(seq)
            if seq <= self._floor_at_connect:
                self.stale.append(seq)
            self._seen_on_connection.add(seq)
            self.received[seq] = event
        elif kind == "error":
            self.errors.append(event)

    def answered(self) -> bool:
        """Every message sent is acked, and the reply to each has arrived."""
        replied = {e["reply_to"] for e in self.received.values() if e["role"] == "tutor"}
        return not self.unacked and all(seq in replied for seq in self.acked.values())


def pump_until(clients: list[ChatClient], done, timeout: float, resync_after: float = 8.0) -> None:  # noqa: ASYNC109
    """Pump every client until ``done()``; a client waiting longer than ``resync_after`` reconnects.

    The reconnect is the browser's re-sync (chat.js: no reply within its
    timeout, reconnect with ``last_seq`` and resend what is unacked).
    """
    deadline = time.monotonic() + timeout
    last_progress = time.monotonic()
    progress = None
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s; clients: {[describe(c) for c in clients]}")
        for client in clients:
            client.pump(0.1)
        now_progress = tuple((len(c.received), len(c.acked)) for c in clients)
        if now_progress != progress:
            progress, last_progress = now_progress, time.monotonic()
        elif time.monotonic() - last_progress > resync_after:
            for client in clients:
                client.drop()
            last_progress = time.monotonic()


def describe(client: ChatClient) -> dict:
    return {
        "acked": client.acked,
        "unacked": list(client.unacked),
        "received": sorted(client.received),
        "errors": client.errors[-3:],
        "connections": client.connections,
    }

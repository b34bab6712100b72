"""Browser tests: a real server started the way ``make run`` starts it, driven by Chromium.

``live_app`` migrates a fresh SQLite database in a temporary directory, loads
the demo data and serves ``tutor.asgi:application`` with uvicorn on a free
port, in the embedded mode (no Redis: in-memory channel layer, in-process
turns). The tests talk to it over HTTP and WebSockets only; they never touch
the Django test database, so they must not be marked ``django_db``.

Playwright's sync API is used from plain ``def`` tests and fixtures: it
refuses to run inside a running asyncio loop, and pytest-asyncio (auto mode)
only runs a loop for ``async def`` tests. Chromium is Debian's
(``make chromium``); Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_TIMEOUT_S = 30
DEFAULT_TIMEOUT_MS = 10_000
SERVER_LOG_KEY = pytest.StashKey[Path]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this directory is an e2e test."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the server's log to the report of a failed e2e test."""
    report = yield
    log_path = item.config.stash.get(SERVER_LOG_KEY, None)
    if report.failed and log_path is not None and "live_app" in getattr(item, "fixturenames", ()):
        report.sections.append(("live_app server log", _tail(log_path)))
    return report


def _tail(path: Path, limit: int = 20_000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no server log: {exc})"
    return text if len(text) <= limit else "…\n" + text[-limit:]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict[str, str], log, *args: str) -> None:
    log.write(f"$ manage.py {' '.join(args)}\n")
    log.flush()
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} exited with {result.returncode}")


def _wait_healthy(base_url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {server.returncode} before /healthz answered")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read()[:300]!r}"
        except (urllib.error.URLError, OSError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    raise RuntimeError(f"/healthz did not answer 200 within {STARTUP_TIMEOUT_S}s ({last})")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


@contextmanager
def served_app(prefix: str, env_updates: dict[str, str], drop: tuple[str, ...] = (), on_log=None):
    """Serve a freshly migrated, demo-loaded Tutorgraph with uvicorn; yield ``(base_url, env)``.

    ``env`` is the server's environment (what ``manage.py`` needs to reach
    its database). ``on_log(path)`` is told where the server log is.
    """
    with tempfile.TemporaryDirectory(prefix=f"tutorgraph-{prefix}-") as tmp:
        tmp_path = Path(tmp)
        env = dict(os.environ)
        for name in ("TURN_EXECUTOR", "SECURE", "DJANGO_SETTINGS_MODULE", *drop):
            env.pop(name, None)  # the server picks these the way `make run` does
        env.update(
            DATA_DIR=str(tmp_path),
            DATABASE_URL=f"sqlite:///{tmp_path / (prefix + '.sqlite3')}",
            REDIS_URL="",  # embedded mode: in-memory channel layer, in-process turns
            DEBUG="1",
            PYTHONUNBUFFERED="1",
        )
        env.update(env_updates)
        log_path = tmp_path / "server.log"
        if on_log is not None:
            on_log(log_path)
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = None
        with log_path.open("w") as log:
            try:
                _manage(env, log, "migrate", "--noinput")
                _manage(env, log, "load_demo")
                log.write(f"$ uvicorn tutor.asgi:application --port {port}\n")
                log.flush()
                server = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "tutor.asgi:application", "--host", "127.0.0.1"]
                    + ["--port", str(port)],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                _wait_healthy(base_url, server)
            except Exception as exc:
                if server is not None:
                    _stop(server)
                log.flush()
                pytest.fail(f"{prefix} app did not start: {exc}\n--- server log ---\n{_tail(log_path)}", pytrace=False)
            try:
                yield base_url, env
            finally:
                _stop(server)


@pytest.fixture(scope="session")
def live_app(request: pytest.FixtureRequest):
    """The base URL of a freshly migrated, demo-loaded Tutorgraph served by uvicorn."""

    def remember(path: Path) -> None:
        request.config.stash[SERVER_LOG_KEY] = path

    try:
        with served_app("e2e", {"TUTOR_STREAM_DELAY_MS": "40"}, on_log=remember) as (base_url, _env):
            yield base_url
    finally:
        if SERVER_LOG_KEY in request.config.stash:
            del request.config.stash[SERVER_LOG_KEY]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium under Playwright's sync API."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; `make chromium` installs Debian's chromium", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_app):
    """A page in a fresh browser context (no cookies), with ``live_app`` as its base URL."""
    context = browser.new_context(base_url=live_app)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    # Chromium logs every Content-Security-Policy violation to the console: any one fails the test.
    csp_violations: list[str] = []
    page.on("console", lambda msg: csp_violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        yield page
    finally:
        context.close()
    assert not csp_violations, f"the page broke its Content Security Policy: {csp_violations}"

"""Smoke test of ``bench/load.py``: 3 simulated students, one full problem each.

The bench is run as it is run by hand (a subprocess, its own database,
uvicorn and a real Celery worker over Redis), with no think time, and its
last stdout line must be the JSON report with nothing lost, duplicated or
failed. Latency is not asserted: CI machines are too noisy for that; the
numbers live in bench/README.md. Skipped unless DATABASE_URL is PostgreSQL
and REDIS_URL is set, as in CI (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.markers import needs_postgres_and_redis

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.distributed,
    needs_postgres_and_redis,
]


def _bench_database_url() -> str:
    """A database of its own on the test PostgreSQL server; the bench creates and drops it."""
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    name = f"{db['NAME']}_load_smoke"[:63]
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def report() -> dict:
    students = 3
    command = [
        sys.executable, "bench/load.py", "--students", str(students), "--problems", "1",
        "--think-min", "0", "--think-max", "0.2", "--ramp", "0", "--no-demo-history", "--baseline-problems", "1",
        "--database-url", _bench_database_url(), "--redis-url", django_settings.REDIS_URL,
        "--port", str(_free_port()), "--celery-concurrency", "1",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-4000:]
    last = result.stdout.strip().splitlines()[-1]
    return json.loads(last)


def test_load_bench_reports_latency_percentiles_and_a_baseline(report):
    assert report["benchmark"] == "load" and report["students"] == 3
    for key in ("p50", "p95", "p99", "max"):
        assert report["turn_ms"][key] > 0
        assert report["baseline_turn_ms"][key] > 0
    assert report["ratio_p95_vs_baseline"] > 0
    assert set(report["phases"]) == {"baseline", "load"}
    assert report["phases"]["baseline"]["students"] == 1
    assert report["server"]["celery_pool"] and report["think_s"] == [0.0, 0.2]
    assert report["memory_mb"]["end"]["rss_mb"] > 0
    assert set(report["targets"]) >= {"p95_ms", "p95_met", "no_lost_or_duplicated", "no_errors", "met"}


def test_load_bench_loses_and_duplicates_nothing(report):
    for name, phase in report["phases"].items():
        assert phase["lost"] == 0, (name, phase["lost_detail"])
        assert phase["duplicated"] == 0, (name, phase["database"])
        assert phase["errors"] == 0, (name, phase["error_detail"])
        assert phase["answered"] == phase["turns"] > 0, name
        assert phase["database"]["unanswered"] == 0, name
        assert phase["database"]["tutor_replies"] == phase["database"]["student_messages"] == phase["turns"], name
    assert report["targets"]["no_lost_or_duplicated"] and report["targets"]["no_errors"]


def test_load_bench_students_finish_their_problems(report):
    load = report["phases"]["load"]
    assert load["problems_finished"] == 3 and load["problems_unfinished"] == 0

"""Smoke test of ``bench/generation_worker.py``: 2 sessions through a real ``gpu``-queue worker, 8 tokens each.

Run as it is run by hand (a subprocess with its own database, a threads-pool
Celery worker serving the shipped adapter, the Redis channel layer); its last
stdout line must be the report, every reply worded by the model and streamed
in frames. Speed is not asserted (bench/README.md has the numbers). Skipped
unless DATABASE_URL is PostgreSQL and REDIS_URL is set, as in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.markers import needs_postgres_and_redis
from tests.test_load_bench import _bench_database_url

ROOT = Path(__file__).resolve().parent.parent


pytestmark = [pytest.mark.distributed, needs_postgres_and_redis]


def test_two_sessions_are_served_through_the_gpu_worker_and_reported():
    database_url = _bench_database_url().replace("_load_smoke", "_genw_smoke")
    command = [
        sys.executable, "bench/generation_worker.py", "--sessions", "2", "--tokens", "8", "--threads", "1",
        "--database-url", database_url, "--redis-url", django_settings.REDIS_URL,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["bench"] == "generation_worker" and report["fallbacks"] == 0
    assert report["plain_generate"]["decode_tok_s"] > 0
    assert report["single"]["frames"] >= 1 and 0 < report["single"]["reply_tokens"] <= 8 + 1
    assert report["concurrent"]["sessions"] == 2
    assert all(0 < n <= 8 + 1 for n in report["concurrent"]["reply_tokens"])
    assert set(report["targets"]) == {
        "warm_ttft_under_300ms",
        "decode_at_least_0.9x_plain",
        "aggregate_at_least_3x_one_session",
    }

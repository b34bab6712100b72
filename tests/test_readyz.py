"""GET /readyz: each dependency checked for real, 503 naming the one that failed.

The failures are real ones, not mocks: a cache, channel layer or broker
pointed at a port nothing listens on, at a port that accepts connections and
never answers, or at a private ``redis-server`` that the test stops and starts
again; a database whose name does not exist.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.chaos_support import PrivateRedis, closed_port

needs_redis_server = pytest.mark.skipif(not PrivateRedis.available(), reason="needs the redis-server binary")


def redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


def redis_layer(url: str) -> dict:
    return {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [url]}}}


def readyz(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, response.json()


@pytest.fixture
def private_redis(tmp_path):
    if not PrivateRedis.available():
        pytest.skip("needs the redis-server binary")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def on_private_redis(settings, private_redis):
    """Cache, channel layer and broker all on the private Redis, as in the distributed mode."""
    settings.CACHES = redis_cache(private_redis.url(1))
    settings.CHANNEL_LAYERS = redis_layer(private_redis.url(2))
    settings.CELERY_BROKER_URL = private_redis.url(3)
    settings.TURN_EXECUTOR = "celery"
    return private_redis


def test_readyz_reports_every_dependency_ready(client, db, settings):
    status, body = readyz(client)
    assert status == 200, body
    assert body["status"] == "ready" and body["failing"] == []
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}
    assert all(check["ok"] for check in body["checks"].values())
    if settings.TURN_EXECUTOR != "celery":
        assert body["checks"]["broker"]["mode"] == "not used (turns run in-process)"


def test_readyz_checks_the_broker_in_the_distributed_mode(client, db, on_private_redis):
    status, body = readyz(client)
    assert status == 200, body
    assert body["executor"] == "celery" and body["checks"]["broker"] == {"ok": True}


def test_readyz_names_a_cache_on_a_closed_port(client, db, settings):
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{closed_port()}/0")
    status, body = readyz(client)
    assert status == 503 and body["status"] == "unavailable"
    assert body["failing"] == ["cache"]
    assert "ConnectionError" in body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["ok"]


def test_readyz_names_a_channel_layer_on_a_closed_port(client, db, settings):
    settings.CHANNEL_LAYERS = redis_layer(f"redis://127.0.0.1:{closed_port()}/0")
    status, body = readyz(client)
    assert status == 503 and body["failing"] == ["channel_layer"]
    assert body["checks"]["channel_layer"]["error"]


def test_readyz_names_a_broker_on_a_closed_port(client, db, settings):
    settings.TURN_EXECUTOR = "celery"
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    status, body = readyz(client)
    assert status == 503 and body["failing"] == ["broker"]
    assert "Error" in body["checks"]["broker"]["error"]


def test_readyz_names_a_database_that_does_not_exist(client, db, settings, monkeypatch):
    bad = (
        "tutorgraph_no_such_db"
        if settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
        else "/nonexistent-dir/x.sqlite3"
    )
    monkeypatch.setitem(settings.DATABASES["default"], "NAME", bad)
    status, body = readyz(client)
    assert status == 503 and body["failing"] == ["database"]
    assert "OperationalError" in body["checks"]["database"]["error"]


def test_readyz_follows_a_private_redis_that_stops_and_comes_back(client, db, on_private_redis):
    assert readyz(client)[0] == 200
    on_private_redis.kill()
    status, body = readyz(client)
    assert status == 503
    assert body["failing"] == ["cache", "channel_layer", "broker"]
    assert body["checks"]["database"]["ok"]
    on_private_redis.start()  # the same port, empty: the process reconnects by itself
    status, body = readyz(client)
    assert status == 200, body


def test_readyz_answers_within_its_deadline_when_a_dependency_hangs(client, db, settings):
    # A listening socket that never accepts: the TCP connect succeeds (the
    # kernel's backlog) and every read then waits forever, as with a stuck server.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        settings.CACHES = redis_cache(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        started = time.monotonic()
        status, body = readyz(client)
        elapsed = time.monotonic() - started
    assert status == 503 and body["failing"] == ["cache"]
    assert body["checks"]["cache"]["error"] == "no answer within 2 s"
    assert elapsed < 4, f"the probe took {elapsed:.1f} s"

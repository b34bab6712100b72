"""GET /healthz is liveness: 200 while the process serves, and it calls no dependency.

Readiness (the database, the cache, the channel layer, the broker) is
``/readyz``: see ``tests/test_readyz.py``.
"""

import pytest

from tests.chaos_support import closed_port


def test_healthz_answers_ok_with_the_executor(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "executor": "inprocess"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_stays_ok_while_every_dependency_is_down(client, db, settings, monkeypatch):
    port = closed_port()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}"}
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}"]},
        }
    }
    settings.TURN_EXECUTOR = "celery"
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setitem(settings.DATABASES["default"], "NAME", "/nonexistent-dir/tutorgraph.sqlite3")
    assert client.get("/readyz").status_code == 503  # the dependencies really are down
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_healthz_only_answers_get(client, db, method):
    assert getattr(client, method)("/healthz").status_code == 405

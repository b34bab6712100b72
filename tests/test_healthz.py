"""GET /healthz reports database, cache and broker status as JSON."""

from django.core.cache import cache


def test_healthz_reports_every_component_ok(client, db):
    response = client.get("/healthz")
    data = response.json()
    assert response.status_code == 200 and data["status"] == "ok"
    assert set(data["checks"]) == {"database", "cache", "broker"}
    assert all(check["ok"] for check in data["checks"].values())


def test_healthz_reports_a_broken_cache_as_503(client, db, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache is down")

    monkeypatch.setattr(cache, "set", broken)
    response = client.get("/healthz")
    data = response.json()
    assert response.status_code == 503 and data["status"] == "degraded"
    assert data["checks"]["cache"] == {"ok": False, "error": "ConnectionError: cache is down"}
    assert data["checks"]["database"]["ok"]


def test_healthz_checks_the_real_broker_in_celery_mode(client, db, settings):
    settings.TURN_EXECUTOR = "celery"
    settings_broker = settings.CELERY_BROKER_URL
    data = client.get("/healthz").json()
    if settings_broker.startswith("redis://"):
        assert data["checks"]["broker"] == {"ok": True}
    else:  # embedded test run: the in-memory transport still answers
        assert data["checks"]["broker"]["ok"]

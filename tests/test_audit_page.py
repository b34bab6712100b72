"""The admin's audit log page ``/audit/``: admins only, newest first, 50 a page, filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import login
from tutor.audit.actions import audit_record
from tutor.audit.models import AuditEvent

URL = "/audit/"


@pytest.mark.parametrize("persona", ["alice", "tess", "mallory"])
def test_only_admins_may_open_the_audit_log(client, db, request, persona):
    login(client, request.getfixturevalue(persona))
    assert client.get(URL).status_code in (403, 404)


def test_anonymous_is_sent_to_log_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith("/login/")


def _rows(response) -> list:
    return list(response.context["page"])


def test_admin_sees_events_newest_first(client, adam, tess, alice):
    first = audit_record(action="view", actor=tess, subject=alice, object_type="transcript", object_id=11)
    second = audit_record(action="export", actor=tess, subject=alice, object_type="class_csv", object_id=12)
    response = login(client, adam).get(URL)
    assert response.status_code == 200
    rows = [e for e in _rows(response) if e.pk in (first.pk, second.pk)]
    assert rows == [second, first]
    body = response.content.decode()
    assert "Exported data" in body and "transcript #11" in body


def test_pages_hold_50_events(client, adam, tess):
    AuditEvent.objects.bulk_create([AuditEvent(action="view", actor=tess, actor_name="tess") for _ in range(120)])
    login(client, adam)
    assert len(_rows(client.get(URL))) == 50
    last = client.get(URL, {"page": 3})
    assert len(_rows(last)) == AuditEvent.objects.count() - 100
    assert "Page 3 of 3" in last.content.decode()


def test_filters_by_action_actor_and_subject(client, adam, tess, trent, alice, bob):
    audit_record(action="view", actor=tess, subject=alice, object_type="transcript", object_id=1)
    audit_record(action="view", actor=trent, subject=bob, object_type="transcript", object_id=2)
    audit_record(action="export", actor=tess, subject=bob, object_type="class_csv", object_id=3)
    login(client, adam)
    by_actor = _rows(client.get(URL, {"actor": "TESS", "action": "view"}))
    assert [(e.actor_name, e.subject_name, e.action) for e in by_actor] == [("tess", "alice", "view")]
    by_subject = _rows(client.get(URL, {"subject": "bob"}))
    assert sorted(e.object_id for e in by_subject) == ["2", "3"]


def test_filters_by_date_range(client, adam, tess, alice):
    event = audit_record(action="view", actor=tess, subject=alice, object_type="transcript", object_id=1)
    today = datetime.now(UTC).date().isoformat()
    login(client, adam)
    assert event in _rows(client.get(URL, {"since": today, "until": today, "actor": "tess"}))
    assert _rows(client.get(URL, {"until": "2000-01-01"})) == []
    assert _rows(client.get(URL, {"since": "2999-01-01"})) == []


def test_bad_filters_are_named(client, adam):
    response = login(client, adam).get(URL, {"since": "yesterday", "action": "peek"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "from: &#x27;yesterday&#x27; is not a date (YYYY-MM-DD)" in body
    assert "action: &#x27;peek&#x27; is not one of" in body


def test_the_page_shows_detail_escaped(client, adam, tess):
    audit_record(action="view", actor=tess, object_type="transcript", detail={"note": "<script>alert(1)</script>"})
    body = login(client, adam).get(URL).content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body

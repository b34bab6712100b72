"""load_demo's tutoring history: what tess's dashboard shows a new user, made by the real pipeline, loaded once."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from tutor.accounts.management.commands.load_demo import DEMO_CLASSMATES
from tutor.accounts.models import Classroom, User
from tutor.coaching import selectors
from tutor.dialogue.models import Message, TutorSession
from tutor.learners.models import MasteryEvent

# Not transactional: in a test the commits never happen, so the after-commit aggregate refresh is run by
# ``coaching_refresh`` below (the e2e tests, which run load_demo in a real process, see it run after commit).
# A transactional test would also run each post's after-commit turn on the in-memory test database from a
# second thread, which SQLite's shared cache answers with "database table is locked".
pytestmark = pytest.mark.django_db


def test_demo_class_has_tutoring_history_once_and_tess_sees_it():
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert f"Demo tutoring history for {len(DEMO_CLASSMATES)} classmates" in out.getvalue()
    names = [u for u, *_ in DEMO_CLASSMATES]
    for username in names:  # a note, not a login per classmate
        assert f" {username}\n" not in out.getvalue()
    counts = (TutorSession.objects.count(), Message.objects.count(), MasteryEvent.objects.count())
    records = list(Message.objects.filter(role="tutor").order_by("pk").values_list("record", flat=True))
    assert counts[0] >= 2 * len(DEMO_CLASSMATES) and all(records)
    # alice and bob start clean: the student-flow browser tests expect untouched problem lists.
    assert not TutorSession.objects.filter(student__username__in=["alice", "bob"]).exists()

    again = StringIO()
    call_command("load_demo", stdout=again)
    assert "Demo tutoring history" not in again.getvalue() and "alice" in again.getvalue()
    assert (TutorSession.objects.count(), Message.objects.count(), MasteryEvent.objects.count()) == counts

    call_command("coaching_refresh", stdout=StringIO())
    classroom = Classroom.objects.get(code="MATH5A")
    curriculum = selectors.class_curriculum(classroom)
    data = selectors.dashboard_data(classroom, curriculum)
    naive = selectors.dashboard_data(classroom, curriculum, aggregated=False)
    assert data["attention"] == naive["attention"] and data["activity"] == naive["activity"]
    reasons = {(a["student"].username, a["reason"]) for a in data["attention"]}
    assert {("finn", "stuck"), ("ivan", "gaming"), ("jade", "inactive")} <= reasons
    assert any(m["count"] >= 2 and len(m["student_ids"]) >= 2 for m in data["misconceptions"])
    assert {r["kind"] for r in data["recommendations"]} >= {"group", "ready"}
    assert sum(1 for d in data["activity"] if d["messages"]) >= 7  # spread over the weeks, not one day

    client = Client()
    client.force_login(User.objects.get(username="tess"))
    page = client.get(f"/teach/classes/{classroom.pk}/coaching/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Finn Fischer" in html and "bottom-out solutions" in html and "Small group" in html


def test_demo_history_is_deterministic():
    call_command("load_demo", stdout=StringIO())
    first = list(Message.objects.order_by("pk").values_list("session__student__username", "kind", "text", "record"))
    Message.objects.all().delete()
    TutorSession.objects.all().delete()
    MasteryEvent.objects.all().delete()
    call_command("load_demo", stdout=StringIO())
    again = list(Message.objects.order_by("pk").values_list("session__student__username", "kind", "text", "record"))
    assert again == first

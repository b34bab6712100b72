"""Performance: check-ins after a step ("How sure are you?") with calibration feedback."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.srl_harness import Clock, open_session, say, started_study
from tutor.srl.actions import SrlError, checkin_record
from tutor.srl.models import SrlEvent


def test_a_finished_step_asks_for_a_check_in_and_gives_calibration_feedback(client, alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    session = open_session(alice, demo_problem, clock)
    reply = say(session, "8", clock, wait=20)
    login(client, alice)
    panel = client.get(f"/learn/srl/panel/{session.pk}.json").json()
    assert panel["active"] and panel["checkin"]["message"] == reply.pk
    assert panel["progress"] == {"solved": 1, "target": 2, "unit": "step", "met": False, "pct": 50}

    response = client.post(
        f"/learn/srl/sessions/{study.pk}/checkin/",
        {"message": reply.pk, "confidence": "5"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    assert "well judged" in response.json()["feedback"]
    assert "% success here" in response.json()["feedback"]  # the IRT prediction
    event = SrlEvent.objects.get(kind="checkin")
    assert event.data["correct"] is True and 0 < event.data["predicted"] < 1
    assert client.get(f"/learn/srl/panel/{session.pk}.json").json()["checkin"] is None


def test_overconfidence_on_a_shown_solution_is_named(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    session = open_session(alice, demo_problem, clock)
    for wrong in ("1", "2", "3"):
        reply = say(session, wrong, clock, wait=20)
    assert reply.record["subproblem_state"] in "yz"
    event = checkin_record(study, message_id=reply.pk, confidence=5)
    assert event.data["correct"] is False and "very sure" in event.data["feedback"]


def test_a_check_in_on_someone_elses_message_is_refused(alice, bob, fractions, demo_problem):
    clock = Clock()
    bob_session = open_session(bob, demo_problem, clock)
    reply = say(bob_session, "8", clock)
    study = started_study(alice, fractions)
    with pytest.raises(SrlError):
        checkin_record(study, message_id=reply.pk, confidence=3)


def test_a_check_in_counts_once(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    reply = say(open_session(alice, demo_problem, clock), "8", clock)
    checkin_record(study, message_id=reply.pk, confidence=4)
    checkin_record(study, message_id=reply.pk, confidence=1)
    assert SrlEvent.objects.filter(kind="checkin").count() == 1


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/x", "javascript:alert(1)"])
def test_a_failed_check_in_never_redirects_off_site(client, alice, fractions, target):
    study = started_study(alice, fractions)
    login(client, alice)
    response = client.post(f"/learn/srl/sessions/{study.pk}/checkin/", {"message": "999999", "next": target})
    assert response.status_code == 302
    assert response["Location"] == f"/learn/srl/sessions/{study.pk}/"


def test_a_failed_check_in_returns_to_a_page_on_this_site(client, alice, fractions):
    study = started_study(alice, fractions)
    login(client, alice)
    response = client.post(f"/learn/srl/sessions/{study.pk}/checkin/", {"message": "999999", "next": "/learn/srl/"})
    assert response["Location"] == "/learn/srl/"

"""The class dashboard: heatmap, theta ± SE, goals, activity, needs attention, from real tutoring turns."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.coaching_data import say, work
from tests.conftest import login
from tutor.coaching import selectors
from tutor.dialogue.actions import session_start
from tutor.dialogue.models import Message
from tutor.planning.actions import goal_set

pytestmark = pytest.mark.django_db


def url(classroom) -> str:
    return f"/teach/classes/{classroom.pk}/coaching/"


def test_teacher_sees_heatmap_with_mastery_bands_in_words(client, tess, alice, bob, demo_problem, tess_class):
    work(alice, demo_problem, ["12", "32"])
    work(bob, demo_problem, ["8", "6", "7/8"])
    page = login(client, tess).get(url(tess_class))
    assert page.status_code == 200
    rows = {r["student"].username: r for r in page.context["heatmap"]["rows"]}
    alice_cell = next(c for c in rows["alice"]["cells"] if c["concept"].key == "frac.add-unlike")
    bob_cell = next(c for c in rows["bob"]["cells"] if c["concept"].key == "frac.add-unlike")
    assert alice_cell["band"] == "weak" and alice_cell["n"] == 2
    assert bob_cell["band"] == "mastered"
    html = page.content.decode()
    assert 'id="heatmap"' in html and "weak (2 ev.)" in html and "no evidence" in html


def test_concept_without_evidence_is_shown_as_no_evidence_not_a_number(tess, alice, fractions, tess_class):
    mastery = selectors.class_mastery([alice], fractions)
    assert all(v is None for v in mastery.value.values())
    assert selectors.band(None) == "no evidence"


def test_dashboard_lists_stuck_student_with_bottom_out_evidence(client, tess, alice, bob, demo_problem, tess_class):
    # Three wrong tries on the first step earn a solution (action 2); the second step too.
    work(alice, demo_problem, ["12", "32", "ten", "one", "two", "three"])
    solutions = Message.objects.filter(role="tutor", session__student=alice, record__action=2).count()
    assert solutions >= 2
    page = login(client, tess).get(url(tess_class))
    stuck = [a for a in page.context["attention"] if a["reason"] == "stuck"]
    assert [a["student"] for a in stuck] == [alice]
    assert "bottom-out solutions" in stuck[0]["evidence"]


def test_student_with_no_activity_is_listed_as_inactive(client, tess, alice, bob, demo_problem, tess_class):
    work(alice, demo_problem, ["8"])
    page = login(client, tess).get(url(tess_class))
    inactive = {a["student"].username: a["evidence"] for a in page.context["attention"] if a["reason"] == "inactive"}
    assert inactive == {"bob": "no activity yet"}


def test_quick_successive_hint_requests_are_flagged_as_gaming(tess, alice, demo_problem, fractions, tess_class):
    session = session_start(student=alice, problem=demo_problem)
    for _ in range(4):
        say(session, "hint", kind="hint_request")
    turns = selectors.class_turns([alice], fractions)
    found = selectors.needs_attention([alice], fractions, turns)
    gaming = [a for a in found if a["reason"] == "gaming"]
    assert gaming and "hint requests" in gaming[0]["evidence"]


def test_old_activity_makes_a_student_inactive(tess, alice, demo_problem, fractions, tess_class):
    work(alice, demo_problem, ["8"])
    Message.objects.filter(session__student=alice).update(created_at=timezone.now() - dt.timedelta(days=30))
    found = selectors.needs_attention([alice], fractions, [])
    assert [a["reason"] for a in found] == ["inactive"]
    assert "30 days ago" in found[0]["evidence"]


def test_activity_counts_student_messages_per_day(tess, alice, demo_problem, fractions, tess_class):
    work(alice, demo_problem, ["12", "8"])
    days = selectors.activity_by_day([alice], fractions)
    assert len(days) == selectors.ACTIVITY_DAYS
    assert days[-1]["messages"] == 2 and sum(d["messages"] for d in days) == 2


def test_goal_progress_counts_who_mastered_the_goal_concept(client, tess, alice, bob, demo_problem, tess_class):
    goal_set(by=tess, curriculum=demo_problem.curriculum, concept="frac.add-unlike", classroom=tess_class)
    work(bob, demo_problem, ["8", "6", "7/8"])
    page = login(client, tess).get(url(tess_class))
    [goal] = page.context["goals"]
    assert (goal["done"], goal["total"], goal["not_yet"]) == (1, 2, ["Alice"])


def test_srl_section_says_metrics_await_the_srl_app_when_it_is_missing(client, tess, alice, tess_class, monkeypatch):
    monkeypatch.setattr(selectors, "_srl_provider", lambda: None)
    page = login(client, tess).get(url(tess_class))
    assert page.context["srl"] is None
    assert "once the SRL app is installed" in page.content.decode()


def test_srl_metrics_per_student_come_from_the_srl_app(client, tess, alice, tess_class, monkeypatch):
    metrics = {"goals_set": 2, "goals_met": 1, "reflections": 3, "mean_reflection_depth": 1.67}
    monkeypatch.setattr(selectors, "_srl_provider", lambda: lambda student: metrics | {"disengagement": {"idle": 2}})
    page = login(client, tess).get(url(tess_class))
    [row] = page.context["srl"]
    assert (row["student"], row["goals_met"], row["depth"], row["disengagement"]) == (alice, 1, 1.67, "idle: 2")
    assert 'id="srl"' in page.content.decode()


def test_srl_rows_read_the_installed_srl_app(tess, alice, tess_class):
    if selectors._srl_provider() is None:
        pytest.skip("tutor.srl is not installed")
    [row] = selectors.srl_rows([alice])
    assert row["student"] == alice and row["goals_met"] == 0


def test_heatmap_exports_as_csv(client, tess, alice, bob, demo_problem, tess_class):
    work(bob, demo_problem, ["8", "6", "7/8"])
    response = login(client, tess).get(f"/teach/classes/{tess_class.pk}/coaching/mastery.csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("username,name,")
    assert any(line.startswith("bob,Bob,") and any(ch.isdigit() for ch in line[8:]) for line in lines)


def test_class_page_links_to_the_dashboard(client, tess, tess_class):
    page = login(client, tess).get(f"/teach/classes/{tess_class.pk}/")
    assert url(tess_class) in page.content.decode()


def test_teacher_cannot_see_other_class_dashboard(client, trent, tess_class):
    assert login(client, trent).get(url(tess_class)).status_code == 404


def test_admin_sees_any_class_dashboard(client, adam, tess_class):
    assert login(client, adam).get(url(tess_class)).status_code == 200

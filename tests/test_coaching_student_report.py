"""A student's drill-down: mastery history (chart data and table), the plan link, labelled sessions."""

from __future__ import annotations

import pytest

from tests.coaching_data import work
from tests.conftest import login

pytestmark = pytest.mark.django_db


def url(classroom, student) -> str:
    return f"/teach/classes/{classroom.pk}/coaching/students/{student.pk}/"


def test_drill_down_shows_mastery_history_and_sessions(client, tess, alice, demo_problem, tess_class):
    session = work(alice, demo_problem, ["12", "8", "6"])
    page = login(client, tess).get(url(tess_class, alice))
    assert page.status_code == 200
    [series] = page.context["chart_data"]["series"]
    assert series["concept"] == "Adding fractions with unlike denominators"
    masteries = [p["mastery"] for p in series["points"]]
    assert len(masteries) == 3 and masteries[1] > masteries[0]
    html = page.content.decode()
    assert f"/teach/coaching/sessions/{session.pk}/" in html
    assert f"/teach/students/{alice.pk}/plan/{demo_problem.curriculum_id}/" in html
    assert 'id="chart-history"' in html and "History as a table" in html


def test_teacher_cannot_drill_into_a_student_of_another_class(client, tess, alice, mallory, tess_class, trent_class):
    login(client, tess)
    assert client.get(url(tess_class, mallory)).status_code == 404
    assert client.get(url(trent_class, mallory)).status_code == 404


def test_other_teacher_cannot_drill_into_my_student(client, trent, alice, tess_class):
    assert login(client, trent).get(url(tess_class, alice)).status_code == 404


def test_student_cannot_open_own_drill_down(client, alice, tess_class):
    assert login(client, alice).get(url(tess_class, alice)).status_code == 404

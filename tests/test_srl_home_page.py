"""The SRL home page: the game, the quests from the plan, starting a study session."""

from __future__ import annotations

from tests.conftest import login
from tutor.planning.actions import goal_set, plan_state_refresh
from tutor.srl.models import StudySession


def test_the_home_page_shows_the_game_and_starts_a_session(client, alice, fractions):
    login(client, alice)
    page = client.get("/learn/srl/").content.decode()
    assert "0 XP" in page and "Level 1" in page and "First SMART goal" in page
    response = client.post(f"/learn/srl/start/{fractions.pk}/")
    study = StudySession.objects.get(student=alice)
    assert response["Location"] == f"/learn/srl/sessions/{study.pk}/"


def test_quests_are_segments_of_the_plan(client, alice, fractions):
    goal_set(by=alice, curriculum=fractions, concept="frac.add-unlike", student=alice)
    plan_state_refresh(alice, fractions)
    login(client, alice)
    page = client.get("/learn/srl/").content.decode()
    assert "Quests from your plan" in page and "mastered" in page


def test_a_curriculum_outside_the_students_classes_is_a_404(client, alice, fractions):
    login(client, alice)
    assert client.post("/learn/srl/start/999999/").status_code == 404


def test_teachers_cannot_open_the_student_pages(client, tess):
    login(client, tess)
    assert client.get("/learn/srl/").status_code == 403


def test_the_student_home_links_to_study_sessions(client, alice):
    login(client, alice)
    assert b'href="/learn/srl/"' in client.get("/learn/").content

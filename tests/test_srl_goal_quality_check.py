"""Forethought: ``goal_quality_check`` and the goal form of the study page."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.srl_harness import SMART_GOAL
from tutor.srl.actions import GoalInput, SrlError, goal_quality_check, study_session_start
from tutor.srl.models import SrlEvent, StudySession
from tutor.srl.selectors import game_state


def _goal(text: str, concepts=("frac.add-unlike",)) -> GoalInput:
    return GoalInput(text, list(concepts), 20, "practice", 3)


def test_vague_goal_gets_a_follow_up_not_acceptance(alice, fractions):
    study = study_session_start(student=alice, curriculum=fractions)
    check = goal_quality_check(study, _goal("do better"))
    study.refresh_from_db()
    assert not check.accepted and check.follow_up
    assert study.status == StudySession.Status.PLANNING and study.started_at is None
    assert not SrlEvent.objects.filter(kind="goal_set").exists()
    assert SrlEvent.objects.get(kind="goal_check").data["follow_up"] == check.follow_up


def test_smart_goal_starts_the_session_with_xp_and_the_first_badge(alice, fractions):
    study = study_session_start(student=alice, curriculum=fractions)
    check = goal_quality_check(study, _goal(SMART_GOAL))
    study.refresh_from_db()
    assert check.accepted and study.status == StudySession.Status.ACTIVE and study.goal_target == 2
    assert study.mastery_before.keys() == {"frac.add-unlike"}
    game = game_state(alice)
    assert game.xp == 5 and "first_smart_goal" in game.badges


def test_a_goal_must_name_a_concept_of_the_curriculum(alice, fractions):
    study = study_session_start(student=alice, curriculum=fractions)
    with pytest.raises(SrlError):
        goal_quality_check(study, _goal(SMART_GOAL, concepts=["not.a.concept"]))


def test_starting_twice_resumes_the_open_session(alice, fractions):
    assert study_session_start(student=alice, curriculum=fractions) == study_session_start(
        student=alice, curriculum=fractions
    )


def test_the_goal_form_shows_the_follow_up_question(client, alice, fractions):
    login(client, alice)
    study = study_session_start(student=alice, curriculum=fractions)
    data = {"goal": "do better", "concepts": ["frac.add-unlike"], "minutes": "20", "strategy": "practice"}
    response = client.post(f"/learn/srl/sessions/{study.pk}/", {**data, "confidence": "3"})
    assert response.status_code == 200
    assert b"Which topic will you work on?" in response.content
    response = client.post(f"/learn/srl/sessions/{study.pk}/", {**data, "goal": SMART_GOAL, "confidence": "3"})
    assert response.status_code == 302
    assert b"Finish the session and reflect" in client.get(response["Location"]).content


def test_another_students_study_session_is_a_404(client, alice, bob, fractions):
    study = study_session_start(student=alice, curriculum=fractions)
    login(client, bob)
    assert client.get(f"/learn/srl/sessions/{study.pk}/").status_code == 404
    assert client.post(f"/learn/srl/sessions/{study.pk}/finish/").status_code == 404

"""Self-reflection: ``study_session_finish`` then ``reflection_submit``; depth feedback, XP, summary, badges."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.srl_harness import Clock, open_session, say, started_study
from tutor.srl import rules
from tutor.srl.actions import SrlError, reflection_submit, study_session_finish
from tutor.srl.models import SrlEvent, StudySession
from tutor.srl.selectors import game_state, session_summary, srl_metrics

DEEP = ("Drawing a diagram helped", "Finding the common denominator", "Next time I will check each step")


def test_a_deep_reflection_earns_xp_per_depth_point(alice, fractions):
    study = study_session_finish(started_study(alice, fractions))
    depth = reflection_submit(study, worked=DEEP[0], hard=DEEP[1], change=DEEP[2])
    assert depth.score == 3
    assert SrlEvent.objects.get(kind="reflection").xp == 3 * rules.XP_PER_DEPTH
    study.refresh_from_db()
    assert study.status == StudySession.Status.DONE


def test_a_shallow_reflection_gets_feedback_and_no_xp(alice, fractions):
    study = study_session_finish(started_study(alice, fractions))
    depth = reflection_submit(study, worked="good", hard="it", change="nothing")
    assert depth.score == 0 and SrlEvent.objects.get(kind="reflection").xp == 0
    assert any("strategy" in line for line in depth.feedback)


def test_reflecting_before_finishing_is_refused(alice, fractions):
    with pytest.raises(SrlError):
        reflection_submit(started_study(alice, fractions), worked="a", hard="b", change="c")


def test_the_summary_reports_goal_mastery_time_and_calibration(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    session = open_session(alice, demo_problem, clock)
    say(session, "8", clock)
    say(session, "6", clock)
    study = study_session_finish(study)
    summary = session_summary(study)
    assert summary["progress"]["met"] is True
    assert summary["mastery"][0]["after"] > summary["mastery"][0]["before"]
    assert summary["minutes"] >= 119


def test_five_reflections_earn_the_badge(alice, fractions):
    for _ in range(5):
        study = study_session_finish(started_study(alice, fractions))
        reflection_submit(study, worked=DEEP[0], hard=DEEP[1], change=DEEP[2])
    assert "five_reflections" in game_state(alice).badges
    metrics = srl_metrics(alice)
    assert metrics["reflections"] == 5 and metrics["mean_reflection_depth"] == 3
    assert metrics["goals_set"] == 5


def test_the_reflection_page_shows_feedback_summary_and_game(client, alice, fractions):
    study = study_session_finish(started_study(alice, fractions))
    login(client, alice)
    page = client.get(f"/learn/srl/sessions/{study.pk}/")
    assert b"What will you change next time?" in page.content
    response = client.post(
        f"/learn/srl/sessions/{study.pk}/reflect/", dict(zip(("worked", "hard", "change"), DEEP, strict=True))
    )
    page = client.get(response["Location"]).content.decode()
    assert "depth 3 of 3" in page and "Session summary" in page and "First SMART goal" in page

"""The chat page's study panel (``panel.json``, polled by ``srl.js``): goal, progress, check-ins, prompts."""

from __future__ import annotations

from tests.conftest import login
from tests.srl_harness import Clock, open_session, play, started_study
from tutor.agents.simstudents import Guesser, HelpAbuser
from tutor.dialogue.actions import problem_key
from tutor.srl import rules


def test_a_rapid_guesser_gets_a_gentle_prompt(client, alice, fractions, demo_problem):
    started_study(alice, fractions)
    clock = Clock()
    session = open_session(alice, demo_problem, clock)
    play(session, Guesser(problem_key(demo_problem)), clock, wait=1.5, limit=4)
    login(client, alice)
    panel = client.get(f"/learn/srl/panel/{session.pk}.json").json()
    assert rules.PROMPTS["rapid_guessing"] in panel["prompts"]


def test_a_hint_farmer_gets_a_gentle_prompt(client, alice, fractions, demo_problem):
    started_study(alice, fractions)
    clock = Clock()
    session = open_session(alice, demo_problem, clock)
    play(session, HelpAbuser(problem_key(demo_problem)), clock, wait=2, limit=3)
    login(client, alice)
    panel = client.get(f"/learn/srl/panel/{session.pk}.json").json()
    assert rules.PROMPTS["hint_abuse"] in panel["prompts"]


def test_the_panel_is_inactive_without_a_running_study_session(client, alice, alice_session):
    login(client, alice)
    assert client.get(f"/learn/srl/panel/{alice_session.pk}.json").json()["active"] is False


def test_another_students_panel_is_a_404(client, bob, alice_session):
    login(client, bob)
    assert client.get(f"/learn/srl/panel/{alice_session.pk}.json").status_code == 404


def test_the_chat_page_includes_the_panel(client, alice, alice_session):
    login(client, alice)
    content = client.get(f"/sessions/{alice_session.pk}/").content
    assert b'id="srl-panel"' in content and b"js/srl.js" in content

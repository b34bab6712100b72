"""Teacher controls: ``class_game_set`` and the class's SRL page with each student's metrics."""

from __future__ import annotations

from tests.conftest import login
from tests.srl_harness import Clock, open_session, play, started_study
from tutor.agents.simstudents import Guesser
from tutor.dialogue.actions import problem_key
from tutor.srl.actions import class_game_set, srl_sync
from tutor.srl.selectors import game_on_for


def test_the_teacher_sees_each_students_srl_metrics(client, tess, tess_class, alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    play(open_session(alice, demo_problem, clock), Guesser(problem_key(demo_problem)), clock, wait=1.5)
    srl_sync(study)
    login(client, tess)
    page = client.get(f"/teach/classes/{tess_class.pk}/srl/").content.decode()
    assert "Alice" in page and "rapid guessing" in page


def test_switching_the_game_off_hides_xp_from_the_class(client, tess, tess_class, alice, fractions):
    login(client, tess)
    response = client.post(f"/teach/classes/{tess_class.pk}/srl/", {"game_on": "0"})
    assert response.status_code == 302 and not game_on_for(alice)
    started_study(alice, fractions)
    login(client, alice)
    page = client.get("/learn/srl/").content.decode()
    assert "Your learning game" not in page and "Start a study session" in page
    class_game_set(by=tess, classroom=tess_class, game_on=True)
    assert "Your learning game" in client.get("/learn/srl/").content.decode()


def test_another_teachers_class_is_a_404(client, trent, tess_class):
    login(client, trent)
    assert client.get(f"/teach/classes/{tess_class.pk}/srl/").status_code == 404


def test_students_cannot_open_the_class_page(client, alice, tess_class):
    login(client, alice)
    assert client.get(f"/teach/classes/{tess_class.pk}/srl/").status_code == 403


def test_the_class_page_links_to_the_srl_page(client, tess, tess_class):
    login(client, tess)
    page = client.get(f"/teach/classes/{tess_class.pk}/").content.decode()
    assert f'href="/teach/classes/{tess_class.pk}/srl/"' in page

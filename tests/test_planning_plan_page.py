"""The student's "My plan" page and its graph data: path, progress, goals, reasons, the next step as one click."""

from __future__ import annotations

from tests.conftest import login
from tests.test_planning_fixtures import arith_fixture, master  # noqa: F401
from tutor.dialogue.models import TutorSession
from tutor.planning.actions import goal_set
from tutor.planning.models import PlanDecision


def test_student_home_links_to_my_plan(client, alice, arith):
    body = login(client, alice).get("/learn/").content.decode()
    assert f'href="/learn/plan/{arith.pk}/"' in body


def test_plan_page_without_goals_invites_a_goal(client, alice, arith):
    body = login(client, alice).get(f"/learn/plan/{arith.pk}/").content.decode()
    assert "No goals yet." in body
    assert "No next problem: choose a goal first." in body
    assert '<option value="mul">Multiplication</option>' in body


def test_plan_page_shows_the_path_goals_reasons_and_one_click_next_step(client, alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    master(alice, arith, "count")
    body = login(client, alice).get(f"/learn/plan/{arith.pk}/").content.decode()
    decision = PlanDecision.objects.get(student=alice, kind="next_problem")
    assert f'<form method="post" action="/problems/{decision.problem.pk}/start/"' in body
    assert f"Start: {decision.problem.title}" in body
    assert 'data-concept="count" data-status="mastered"' in body  # where the path starts from
    assert 'data-status="current"' in body and 'data-status="todo"' in body
    assert "working on it now" in body and "to do" in body  # status in words, not only colour
    assert "Why: your goal;" in body
    assert 'Division</strong> — <span class="goal-status">planned</span>' in body
    assert "Plan changed" in body and "Next problem" in body  # the decision log


def test_the_next_step_button_opens_the_chosen_problems_session(client, alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    login(client, alice).get(f"/learn/plan/{arith.pk}/")
    problem = PlanDecision.objects.get(student=alice, kind="next_problem").problem
    response = client.post(f"/problems/{problem.pk}/start/")
    session = TutorSession.objects.get(student=alice, problem=problem)
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"


def test_plan_graph_data_marks_each_concepts_place_on_the_plan(client, alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    master(alice, arith, "count")
    data = login(client, alice).get(f"/learn/plan/{arith.pk}/graph.json").json()
    by_id = {c["id"]: c for c in data["concepts"]}
    assert data["goals"] == ["div"] and data["steps"][-1] == "div"
    assert data["current"] == data["steps"][0]
    assert by_id["count"]["plan"] == "mastered" and by_id["count"]["step"] is None
    assert by_id[data["current"]]["plan"] == "current"
    assert by_id["div"]["goal"] and by_id["div"]["plan"] == "todo" and by_id["div"]["reason"].startswith("your goal")
    assert by_id["ratio"]["plan"] == "" and not by_id["ratio"]["goal"]
    assert 0 <= by_id["ratio"]["mastery"] <= 1


def test_plan_page_uses_static_scripts_only(client, alice, arith):
    body = login(client, alice).get(f"/learn/plan/{arith.pk}/").content.decode()
    assert "/static/js/plan.js" in body and "/static/vendor/cytoscape/cytoscape.min.js" in body
    assert "<script>" not in body and " onclick=" not in body

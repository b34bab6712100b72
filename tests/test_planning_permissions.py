"""Who sees whose plan: a student only their own, a teacher only their classes' students, others a 404."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.test_planning_fixtures import arith_fixture  # noqa: F401
from tutor.accounts.permissions import can_remove_goal, can_view_plan
from tutor.planning.actions import goal_set
from tutor.planning.models import PlanDecision


@pytest.fixture
def alices_plan(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    return f"/teach/students/{alice.pk}/plan/{arith.pk}/"


def test_teacher_reads_a_students_plan_and_decision_log(client, tess, alice, arith, alices_plan):
    body = login(client, tess).get(alices_plan).content.decode()
    assert "Plan of Alice: Arithmetic to ratios" in body
    assert "next: Counting because goal Division needs it" in body
    assert "Start:" not in body  # the teacher reads; only the student starts problems
    assert PlanDecision.objects.filter(student=alice, kind="next_problem").exists()
    assert login(client, tess).get(alices_plan + "graph.json").json()["goals"] == ["div"]


def test_admin_reads_any_plan(client, adam, alices_plan):
    assert login(client, adam).get(alices_plan).status_code == 200


@pytest.mark.parametrize("who", ["mallory", "trent", "bob"])
def test_others_get_a_404_for_alices_plan(client, request, who, alices_plan):
    user = request.getfixturevalue(who)
    login(client, user)
    assert client.get(alices_plan).status_code == 404
    assert client.get(alices_plan + "graph.json").status_code == 404


def test_alice_on_her_teacher_view_url_is_sent_to_her_own_page(client, alice, arith, alices_plan):
    response = login(client, alice).get(alices_plan)
    assert response.status_code == 302 and response["Location"] == f"/learn/plan/{arith.pk}/"


def test_teacher_of_another_subject_does_not_see_the_plan(client, alice, arith, tess_class, django_user_model):
    from tutor.accounts.models import Classroom

    tina = django_user_model.objects.create_user(username="tina", password="x", role="teacher")
    art = Classroom.objects.create(name="Art", teacher=tina, code="ART111")
    art.students.add(alice)
    assert not can_view_plan(tina, alice, arith)
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    assert login(client, tina).get(f"/teach/students/{alice.pk}/plan/{arith.pk}/").status_code == 404


def test_student_pages_are_for_students_in_a_class_with_the_curriculum(client, mallory, tess, arith, trent_class):
    trent_class.curricula.remove(arith)
    assert login(client, mallory).get(f"/learn/plan/{arith.pk}/").status_code == 404
    assert client.post(f"/learn/plan/{arith.pk}/goals/", {"concept": "mul"}).status_code == 404
    assert login(client, tess).get(f"/learn/plan/{arith.pk}/").status_code == 403


def test_other_teachers_cannot_see_or_change_a_classes_goals(client, trent, tess_class, tess, arith):
    goal = goal_set(by=tess, curriculum=arith, concept="div", classroom=tess_class)
    login(client, trent)
    assert client.get(f"/teach/classes/{tess_class.pk}/goals/").status_code == 404
    assert client.post(f"/teach/classes/{tess_class.pk}/goals/", {"concept": f"{arith.pk}:mul"}).status_code == 404
    assert client.post(f"/teach/classes/{tess_class.pk}/goals/{goal.pk}/remove/").status_code == 404
    assert not can_remove_goal(trent, goal)
    goal.refresh_from_db()
    assert goal.status == "active"


def test_students_cannot_reach_teacher_goal_pages(client, alice, tess_class):
    assert login(client, alice).get(f"/teach/classes/{tess_class.pk}/goals/").status_code == 403


def test_a_goal_in_another_class_cannot_be_removed_through_this_one(
    client, tess, tess_class, trent, trent_class, arith
):
    from tutor.accounts.models import Classroom

    other = Classroom.objects.create(name="Other", teacher=tess, code="OTHER1")
    other.curricula.add(arith)
    goal = goal_set(by=tess, curriculum=arith, concept="div", classroom=other)
    assert login(client, tess).post(f"/teach/classes/{tess_class.pk}/goals/{goal.pk}/remove/").status_code == 404

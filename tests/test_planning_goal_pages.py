"""Goal pages: students add and remove their own goals; teachers assign goals to a class or a student."""

from __future__ import annotations

from datetime import date

from tests.conftest import login
from tests.test_planning_fixtures import arith_fixture  # noqa: F401
from tutor.planning.actions import active_goals, goal_set
from tutor.planning.models import Goal


def test_student_adds_a_goal_from_the_plan_page(client, alice, arith):
    response = login(client, alice).post(f"/learn/plan/{arith.pk}/goals/", {"concept": "mul"})
    assert response.status_code == 302 and response["Location"] == f"/learn/plan/{arith.pk}/"
    goal = Goal.objects.get(student=alice)
    assert (goal.concept, goal.set_by, goal.curriculum_slug) == ("mul", alice, "arith")
    assert "New goal: Multiplication." in client.get(response["Location"]).content.decode()


def test_student_gets_a_message_for_an_unknown_concept(client, alice, arith):
    response = login(client, alice).post(f"/learn/plan/{arith.pk}/goals/", {"concept": "nope"}, follow=True)
    assert "&#x27;nope&#x27; is not a concept of Arithmetic to ratios." in response.content.decode()
    assert not Goal.objects.exists()


def test_student_removes_their_own_goal(client, alice, arith):
    goal = goal_set(by=alice, curriculum=arith, concept="mul", student=alice)
    login(client, alice).post(f"/learn/plan/{arith.pk}/goals/{goal.pk}/remove/")
    goal.refresh_from_db()
    assert goal.status == "removed"


def test_student_cannot_remove_a_goal_their_teacher_set(client, tess, alice, arith):
    goal = goal_set(by=tess, curriculum=arith, concept="mul", student=alice)
    body = login(client, alice).post(f"/learn/plan/{arith.pk}/goals/{goal.pk}/remove/", follow=True)
    assert "Your teacher set this goal" in body.content.decode()
    goal.refresh_from_db()
    assert goal.status == "active"


def test_student_cannot_remove_another_students_goal(client, alice, bob, arith):
    goal = goal_set(by=bob, curriculum=arith, concept="mul", student=bob)
    assert login(client, alice).post(f"/learn/plan/{arith.pk}/goals/{goal.pk}/remove/").status_code == 404
    goal.refresh_from_db()
    assert goal.status == "active"


def test_class_page_links_to_its_goals(client, tess, tess_class, arith):
    body = login(client, tess).get(f"/teach/classes/{tess_class.pk}/").content.decode()
    assert f'href="/teach/classes/{tess_class.pk}/goals/"' in body


def test_teacher_assigns_a_goal_to_the_whole_class_with_a_due_date(client, tess, tess_class, alice, bob, arith):
    login(client, tess)
    page = client.get(f"/teach/classes/{tess_class.pk}/goals/").content.decode()
    assert f'<option value="{arith.pk}:div">Division</option>' in page
    response = client.post(
        f"/teach/classes/{tess_class.pk}/goals/",
        {"concept": f"{arith.pk}:div", "student": "class", "due": "2030-05-01"},
    )
    assert response.status_code == 302
    goal = Goal.objects.get(classroom=tess_class)
    assert (goal.concept, goal.due, goal.set_by) == ("div", date(2030, 5, 1), tess)
    assert [g.concept for g in active_goals(alice, "arith")] == ["div"]
    assert [g.concept for g in active_goals(bob, "arith")] == ["div"]
    assert (
        "Goal Division set for everyone in Grade 5 Maths, due 2030-05-01."
        in client.get(response["Location"]).content.decode()
    )


def test_teacher_assigns_a_goal_to_one_student(client, tess, tess_class, alice, bob, arith):
    login(client, tess).post(
        f"/teach/classes/{tess_class.pk}/goals/", {"concept": f"{arith.pk}:mul", "student": alice.pk}
    )
    assert [g.concept for g in active_goals(alice, "arith")] == ["mul"]
    assert active_goals(bob, "arith") == []
    assert Goal.objects.get().set_by == tess


def test_teacher_gets_a_message_for_a_bad_date(client, tess, tess_class, arith):
    response = login(client, tess).post(
        f"/teach/classes/{tess_class.pk}/goals/", {"concept": f"{arith.pk}:div", "due": "31/12/2030"}, follow=True
    )
    assert "is not a date (YYYY-MM-DD)" in response.content.decode()
    assert not Goal.objects.exists()


def test_teacher_cannot_assign_to_a_student_of_another_class(client, tess, tess_class, mallory, arith):
    response = login(client, tess).post(
        f"/teach/classes/{tess_class.pk}/goals/", {"concept": f"{arith.pk}:div", "student": mallory.pk}, follow=True
    )
    assert "Choose a student of this class." in response.content.decode()
    assert not Goal.objects.exists()


def test_teacher_removes_a_class_goal(client, tess, tess_class, arith):
    goal = goal_set(by=tess, curriculum=arith, concept="div", classroom=tess_class)
    login(client, tess).post(f"/teach/classes/{tess_class.pk}/goals/{goal.pk}/remove/")
    goal.refresh_from_db()
    assert goal.status == "removed"


def test_teacher_removes_a_goal_a_student_chose(client, tess, tess_class, alice, arith):
    goal = goal_set(by=alice, curriculum=arith, concept="mul", student=alice)
    page = login(client, tess).get(f"/teach/classes/{tess_class.pk}/goals/").content.decode()
    assert 'Multiplication <span class="muted">(mul)</span>' in page
    client.post(f"/teach/classes/{tess_class.pk}/goals/{goal.pk}/remove/")
    goal.refresh_from_db()
    assert goal.status == "removed"

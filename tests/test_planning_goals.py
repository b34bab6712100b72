"""goal_set / goal_remove: who has which goals, and how they survive a curriculum re-import."""

from __future__ import annotations

from datetime import date

import pytest

from tests.test_planning_fixtures import arith_fixture, arithmetic_package  # noqa: F401
from tutor.planning.actions import GoalError, active_goals, goal_remove, goal_set
from tutor.planning.models import Goal


def test_student_sets_their_own_goal(alice, arith):
    goal = goal_set(by=alice, curriculum=arith, concept="mul", student=alice)
    assert (goal.student, goal.set_by, goal.status, goal.curriculum_slug) == (alice, alice, "active", "arith")
    assert [g.concept for g in active_goals(alice, "arith")] == ["mul"]


def test_setting_the_same_goal_twice_keeps_one_and_updates_its_due_date(tess, alice, arith):
    first = goal_set(by=tess, curriculum=arith, concept="mul", student=alice)
    again = goal_set(by=tess, curriculum=arith, concept="mul", student=alice, due=date(2030, 1, 31))
    assert again.pk == first.pk
    assert Goal.objects.get(pk=first.pk).due == date(2030, 1, 31)
    assert Goal.objects.filter(student=alice).count() == 1


def test_class_goal_applies_to_every_student_of_the_class_and_nobody_else(tess, tess_class, alice, bob, mallory, arith):
    goal_set(by=tess, curriculum=arith, concept="div", classroom=tess_class, due=date(2030, 6, 1))
    assert [g.concept for g in active_goals(alice, "arith")] == ["div"]
    assert [g.concept for g in active_goals(bob, "arith")] == ["div"]
    assert active_goals(mallory, "arith") == []


def test_a_student_who_joins_later_gets_the_class_goal(tess, tess_class, arith, django_user_model):
    goal_set(by=tess, curriculum=arith, concept="div", classroom=tess_class)
    carol = django_user_model.objects.create_user(username="carol", password="x", role="student")
    tess_class.students.add(carol)
    assert [g.concept for g in active_goals(carol, "arith")] == ["div"]


def test_class_goal_and_own_goal_on_one_concept_are_both_listed(tess, tess_class, alice, arith):
    goal_set(by=tess, curriculum=arith, concept="div", classroom=tess_class)
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    assert len(active_goals(alice, "arith")) == 2


def test_unknown_concept_is_refused_with_its_name(alice, arith):
    with pytest.raises(GoalError, match="'calculus' is not a concept of Arithmetic to ratios"):
        goal_set(by=alice, curriculum=arith, concept="calculus", student=alice)


def test_goal_needs_exactly_one_of_student_and_class(tess, tess_class, alice, arith):
    with pytest.raises(GoalError, match="one student or one class"):
        goal_set(by=tess, curriculum=arith, concept="mul")
    with pytest.raises(GoalError, match="one student or one class"):
        goal_set(by=tess, curriculum=arith, concept="mul", student=alice, classroom=tess_class)


def test_goal_for_a_student_outside_the_curriculum_is_refused(tess, alice, arith, tess_class):
    tess_class.curricula.remove(arith)
    with pytest.raises(GoalError, match="not in a class that uses"):
        goal_set(by=tess, curriculum=arith, concept="mul", student=alice)


def test_removed_goal_is_closed_not_deleted_and_can_be_set_again(alice, arith):
    goal = goal_set(by=alice, curriculum=arith, concept="mul", student=alice)
    goal_remove(by=alice, goal=goal)
    goal.refresh_from_db()
    assert goal.status == "removed" and goal.closed_at is not None
    assert active_goals(alice, "arith") == []
    assert goal_set(by=alice, curriculum=arith, concept="mul", student=alice).pk != goal.pk


def test_goals_survive_a_reimport_of_the_curriculum(tess, tess_class, alice, arith):
    from tutor.curricula.importer import curriculum_import

    goal_set(by=alice, curriculum=arith, concept="mul", student=alice)
    goal_set(by=tess, curriculum=arith, concept="ratio", classroom=tess_class)
    v2 = curriculum_import(arithmetic_package()).curriculum
    assert v2.version == 2 and v2.slug == arith.slug
    tess_class.curricula.add(v2)
    assert sorted(g.concept for g in active_goals(alice, v2.slug)) == ["mul", "ratio"]

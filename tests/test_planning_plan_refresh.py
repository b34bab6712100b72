"""plan_refresh: the path to every goal from the learner model's mastery, logged when it changes."""

from __future__ import annotations

from tests.test_planning_fixtures import ability, arith_fixture, arithmetic_package, master  # noqa: F401
from tutor.planning.actions import goal_set, plan_refresh, plan_state_refresh
from tutor.planning.models import Goal, PlanDecision


def _decisions(student, kind="plan"):
    return list(PlanDecision.objects.filter(student=student, kind=kind).order_by("pk"))


def test_plan_reaches_the_goal_prerequisites_first(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    plan = plan_refresh(alice, arith)
    assert plan.steps[-1] == "div"
    assert plan.steps.index("count") < plan.steps.index("add") < plan.steps.index("mul")
    assert len({"sub", "skip"} & set(plan.steps)) == 1  # one member of mul's any_of group is enough
    assert "ratio" not in plan.steps
    assert plan.lower_bound <= plan.cost and plan.bound_factor >= 1


def test_a_mastered_prerequisite_is_skipped(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    before = plan_refresh(alice, arith)
    master(alice, arith, "count", "add")
    after = plan_refresh(alice, arith)
    assert {"count", "add"} <= set(before.steps)
    assert not {"count", "add"} & set(after.steps)
    assert after.steps[-1] == "div"


def test_a_mastered_any_of_member_satisfies_its_group(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="mul", student=alice)
    master(alice, arith, "count", "sub")
    assert plan_refresh(alice, arith).steps == ["add", "mul"]


def test_class_goals_and_own_goals_are_planned_together(tess, tess_class, alice, arith):
    goal_set(by=tess, curriculum=arith, concept="div", classroom=tess_class)
    goal_set(by=alice, curriculum=arith, concept="sub", student=alice)
    plan = plan_refresh(alice, arith)
    assert {"div", "sub"} <= set(plan.steps)
    assert sorted(plan.goals) == ["div", "sub"]


def test_no_goal_means_no_plan_and_no_log(alice, arith):
    assert plan_refresh(alice, arith) is None
    assert PlanDecision.objects.count() == 0


def test_plan_is_logged_with_its_reason_once_per_change(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    plan_refresh(alice, arith)
    plan_refresh(alice, arith)
    [first] = _decisions(alice)
    assert first.reason.startswith("plan: 5 steps to reach Division; first Counting")
    assert first.plan["steps"][-1] == "div" and first.plan["goals"] == ["div"]
    assert first.plan["reasons"]["div"].startswith("your goal")
    assert first.concept == "count"

    master(alice, arith, "count", "add")
    plan_refresh(alice, arith)
    second = _decisions(alice)[-1]
    assert second.pk != first.pk
    assert "now mastered: Counting, Addition" in second.reason


def test_a_new_goal_is_named_in_the_next_plan_decision(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="mul", student=alice)
    plan_refresh(alice, arith)
    goal_set(by=alice, curriculum=arith, concept="ratio", student=alice)
    plan_refresh(alice, arith)
    assert "goal added: Ratios" in _decisions(alice)[-1].reason


def test_a_reached_own_goal_is_closed_and_logged(alice, arith):
    goal = goal_set(by=alice, curriculum=arith, concept="add", student=alice)
    master(alice, arith, "count", "add")
    state = plan_state_refresh(alice, arith)
    assert state.plan is None and state.reached == ["add"]
    goal.refresh_from_db()
    assert goal.status == Goal.Status.DONE
    [reached] = _decisions(alice, "goal_reached")
    assert reached.reason.startswith("goal reached: Addition (mastery 0.9")


def test_a_reached_class_goal_stays_open_for_the_class(tess, tess_class, alice, arith):
    goal = goal_set(by=tess, curriculum=arith, concept="add", classroom=tess_class)
    master(alice, arith, "count", "add")
    assert plan_state_refresh(alice, arith).reached == ["add"]
    goal.refresh_from_db()
    assert goal.status == Goal.Status.ACTIVE


def test_higher_ability_makes_the_plan_cheaper(alice, bob, arith):
    for student in (alice, bob):
        goal_set(by=student, curriculum=arith, concept="div", student=student)
    ability(bob, arith, 2.0)
    assert plan_refresh(bob, arith).cost < plan_refresh(alice, arith).cost


def test_plan_uses_goals_set_on_an_older_version(tess, tess_class, alice, arith):
    from tutor.curricula.importer import curriculum_import

    goal_set(by=alice, curriculum=arith, concept="mul", student=alice)
    v2 = curriculum_import(arithmetic_package()).curriculum
    tess_class.curricula.add(v2)
    assert plan_refresh(alice, v2).steps[-1] == "mul"


def test_a_goal_the_new_version_dropped_is_reported_not_planned(alice, arith, tess_class):
    from tutor.curricula.importer import curriculum_import

    goal_set(by=alice, curriculum=arith, concept="ratio", student=alice)
    goal_set(by=alice, curriculum=arith, concept="mul", student=alice)
    package = arithmetic_package()
    package["concepts"] = [c for c in package["concepts"] if c["id"] != "ratio"]
    package["problems"] = [p for p in package["problems"] if "ratio" not in p["concepts"]]
    v2 = curriculum_import(package).curriculum
    tess_class.curricula.add(v2)
    state = plan_state_refresh(alice, v2)
    assert state.unknown == ["ratio"] and state.targets == ["mul"]

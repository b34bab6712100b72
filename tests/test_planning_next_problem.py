"""next_problem_choose: a problem on the plan's current concept, at the IRT target success rate, with a reason."""

from __future__ import annotations

import math

from tests.test_planning_fixtures import ability, arith_fixture, arithmetic_package, finish, master  # noqa: F401
from tutor.planning.actions import goal_set, next_problem_choose, plan_state_refresh
from tutor.planning.models import PlanDecision
from tutor.planning.selection import TARGET_SUCCESS


def _p(theta: float, b: float) -> float:
    return 1 / (1 + math.exp(-(theta - b)))


def test_next_problem_is_on_the_plans_current_concept(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    problem, reason = next_problem_choose(alice, arith)
    state = plan_state_refresh(alice, arith)
    assert state.current == "count"
    assert problem.key == "count-1"
    assert reason.startswith("next: Counting because goal Division needs it and your mastery is 0.53")


def test_next_problem_moves_on_when_prerequisites_are_mastered(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    master(alice, arith, "count", "add")
    problem, _ = next_problem_choose(alice, arith)
    current = plan_state_refresh(alice, arith).current
    assert current in {"sub", "skip"}
    assert [c.key for c in problem.concepts.all()] == [current]


def test_next_problem_is_the_hardest_at_or_above_the_target_success_rate(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="add", student=alice)
    master(alice, arith, "count")
    ability(alice, arith, 1.0)
    problem, reason = next_problem_choose(alice, arith)
    # add-1 (b -1): 0.88, add-mul (b 0): 0.73, add-div (b 0.5): 0.62, add-ratio (b 1): 0.5
    assert problem.key == "add-mul"
    assert _p(1.0, 0.0) >= TARGET_SUCCESS > _p(1.0, 0.5)
    assert "predicted success 0.73 (target 0.70)" in reason


def test_a_solved_problem_is_not_chosen_again(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="add", student=alice)
    master(alice, arith, "count")
    ability(alice, arith, 1.0)
    first, _ = next_problem_choose(alice, arith)
    finish(alice, first)
    second, _ = next_problem_choose(alice, arith)
    assert second.key == "add-1"  # the hardest unsolved one still at or above 0.7
    finish(alice, second)
    third, _ = next_problem_choose(alice, arith)
    assert third.key == "add-div"  # none left above 0.7: the closest below it


def test_when_every_problem_is_solved_one_is_offered_for_review(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="add", student=alice)
    master(alice, arith, "count")
    for problem in arith.problems.filter(concepts__key="add"):
        finish(alice, problem)
    problem, reason = next_problem_choose(alice, arith)
    assert problem.concepts.filter(key="add").exists()
    assert "a review: you have solved every problem on this concept" in reason


def test_without_item_responses_the_choice_reads_the_concepts_mastery(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="add", student=alice)
    master(alice, arith, "count")
    state = plan_state_refresh(alice, arith)
    problem, reason = next_problem_choose(alice, arith)
    m = state.student.mastery["add"]
    theta = -1.0 + math.log(m / (1 - m))  # b_add + logit(m): add-1 (b = b_add) is predicted at exactly m
    difficulty = {"add-1": -1.0, "add-mul": 0.0, "add-div": 0.5, "add-ratio": 1.0}
    expected = max((k for k, b in difficulty.items() if _p(theta, b) >= TARGET_SUCCESS), key=difficulty.get)
    assert problem.key == expected
    assert f"your mastery is {m:.2f}" in reason
    assert f"predicted success {_p(theta, difficulty[expected]):.2f}" in reason


def test_the_choice_is_logged_with_its_reason_once_while_it_stands(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    next_problem_choose(alice, arith)
    next_problem_choose(alice, arith)
    [decision] = PlanDecision.objects.filter(student=alice, kind="next_problem")
    assert decision.problem.key == "count-1" and decision.concept == "count"
    assert decision.reason.startswith("next: Counting because goal Division needs it")
    assert decision.plan["steps"][0] == "count"


def test_no_goal_no_next_problem(alice, arith):
    assert next_problem_choose(alice, arith) == (None, "no next problem: choose a goal first")
    assert not PlanDecision.objects.exists()


def test_a_step_without_problems_is_skipped_and_the_reason_says_so(alice, tess_class):
    from tutor.curricula.importer import curriculum_import

    package = arithmetic_package("arith-sparse")
    package["problems"] = [p for p in package["problems"] if p["id"] != "count-1"]
    curriculum = curriculum_import(package).curriculum
    tess_class.curricula.add(curriculum)
    goal_set(by=alice, curriculum=curriculum, concept="add", student=alice)
    problem, reason = next_problem_choose(alice, curriculum)
    assert problem.concepts.filter(key="add").exists()
    assert reason.endswith("skipped Counting: no problems yet")


def test_goal_itself_as_the_current_concept_says_so(alice, arith):
    goal_set(by=alice, curriculum=arith, concept="count", student=alice)
    _, reason = next_problem_choose(alice, arith)
    assert reason.startswith("next: Counting because it is your goal")

"""The Planner's in-problem policy: every transition of the table in docs/tutor.md. Pure."""

import pytest

from tutor.agents.diagnostician import Diagnosis
from tutor.agents.policy import decide, solution_released
from tutor.agents.problem import Position

MISCONCEPTION = {"id": "count-remaining", "answer": 7, "feedback": "That counts what is left."}


START = Position()


def run(evaluation, intent="answer", at=START, n_steps=3, max_attempts=3, misconception=None):
    diagnosis = Diagnosis(evaluation, intent, misconception=misconception)
    return decide(diagnosis, at, n_steps=n_steps, max_attempts=max_attempts)


def test_correct_answer_confirms_and_moves_to_the_next_subproblem_with_counters_reset():
    d = run("b", at=Position(index=0, attempts=2, help_requests=1, hints_given=2))
    assert (d.action, d.state, d.move) == (3, "y", "generic")
    assert d.position == Position(index=1)


def test_correct_answer_on_the_last_subproblem_ends_the_problem():
    d = run("b", at=Position(index=2), n_steps=3)
    assert (d.action, d.state) == (3, "z") and d.position.done


def test_first_wrong_answer_points_out_the_mistake_with_the_first_hint():
    d = run("a")
    assert (d.action, d.state, d.move) == (1, "x", "focus")
    assert d.hint_index == 0 and d.position.attempts == 1 and d.position.hints_given == 1


def test_wrong_answers_climb_the_hint_ladder():
    d = run("a", at=Position(attempts=1, hints_given=1))
    assert d.hint_index == 1 and d.position.hints_given == 2


def test_misconception_gets_its_feedback_instead_of_a_hint_rung():
    d = run("a", misconception=MISCONCEPTION)
    assert d.action == 1 and d.feedback and d.hint_index is None
    assert d.position.hints_given == 0 and d.position.attempts == 1


def test_nth_failed_attempt_gives_the_solution_and_moves_on():
    d = run("a", at=Position(index=0, attempts=2), max_attempts=3)
    assert (d.action, d.state, d.move) == (2, "y", "telling")
    assert d.releases == 0 and d.position == Position(index=1)


def test_nth_failed_attempt_on_the_last_subproblem_ends_the_problem():
    d = run("a", at=Position(index=1, attempts=2), n_steps=2)
    assert (d.action, d.state) == (2, "z") and d.releases == 1


def test_partial_answer_is_acknowledged_then_hinted():
    d = run("c", at=Position(attempts=0))
    assert (d.action, d.state, d.move) == (4, "x", "focus") and d.position.attempts == 1


def test_nth_partial_attempt_gives_the_solution():
    d = run("c", at=Position(attempts=2))
    assert (d.action, d.state) == (5, "y") and d.releases == 0


def test_max_attempts_comes_from_the_curriculum():
    assert run("a", at=Position(attempts=2), max_attempts=5).action == 1
    assert run("a", at=Position(attempts=4), max_attempts=5).action == 2
    assert run("a", at=Position(attempts=0), max_attempts=1).action == 2


def test_hint_request_gives_the_next_rung_and_counts_as_help():
    d = run("f", "hint", at=Position(help_requests=0, hints_given=1))
    assert (d.action, d.state, d.move) == (8, "x", "focus")
    assert d.hint_index == 1 and d.position.help_requests == 1


@pytest.mark.parametrize("requests", [0, 1, 2])
def test_solution_request_before_release_is_answered_with_a_hint(requests):
    d = run("f", "solution", at=Position(help_requests=requests))
    assert d.action == 8 and d.state == "x" and d.releases is None
    assert d.position.help_requests == requests + 1


def test_solution_request_after_n_help_requests_gives_the_solution():
    d = run("f", "solution", at=Position(help_requests=3))
    assert (d.action, d.state, d.move) == (9, "y", "telling") and d.releases == 0


def test_solution_request_after_n_failed_attempts_gives_the_solution():
    assert run("f", "solution", at=Position(attempts=3)).action == 9


def test_help_abuser_needs_n_requests_before_any_solution():
    at, actions = Position(), []
    for _ in range(4):
        d = run("f", "solution", at=at)
        actions.append(d.action)
        at = d.position
    assert actions == [8, 8, 8, 9]


def test_solution_released_counts_attempts_or_help_requests():
    assert not solution_released(Position(attempts=2, help_requests=2), 3)
    assert solution_released(Position(attempts=3), 3)
    assert solution_released(Position(help_requests=3), 3)


def test_go_back_returns_to_the_previous_subproblem_with_fresh_counters():
    d = run("f", "back", at=Position(index=2, attempts=1, help_requests=2))
    assert (d.action, d.state) == (10, "x") and d.position == Position(index=1)


def test_go_back_on_the_first_subproblem_is_answered_not_moved():
    d = run("f", "back", at=Position(index=0, attempts=1))
    assert (d.action, d.state) == (11, "x") and d.position == Position(index=0, attempts=1)


def test_topic_question_is_answered_without_moving():
    d = run("f", "question", at=Position(index=1))
    assert (d.action, d.state, d.move) == (11, "x", "generic") and d.position.index == 1


def test_unclear_message_gets_a_clarifying_question_and_costs_no_attempt():
    d = run("d", "unclear", at=Position(attempts=1))
    assert (d.action, d.state, d.move) == (6, "x", "probing") and d.position.attempts == 1


def test_off_topic_message_is_redirected():
    d = run("e", "off_topic")
    assert (d.action, d.state) == (7, "x") and d.position == Position()


def test_greeting_is_greeted_back():
    d = run("g", "greeting")
    assert (d.action, d.state, d.move) == (12, "x", "generic")


def test_anything_after_the_problem_is_done_stays_done():
    d = run("b", at=Position(index=2, done=True))
    assert (d.action, d.state) == (12, "z") and d.position.done

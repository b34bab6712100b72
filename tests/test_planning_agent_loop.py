"""The agent loop: when a tutoring session's problem ends, the planner re-plans and chooses the next problem."""

from __future__ import annotations

from tests.conftest import login
from tests.test_planning_fixtures import arith_fixture, master  # noqa: F401
from tutor.dialogue.actions import session_start, student_message_post, turn_run
from tutor.dialogue.models import TutorSession
from tutor.planning import actions
from tutor.planning.actions import goal_set, problem_finished
from tutor.planning.models import PlanDecision


def _answer(session, n: int, text: str):
    return student_message_post(session=session, client_id=f"c{n}", text=text).message


def _alice_on_add(alice, arith):
    # The goal lies beyond "add", so finishing one addition problem leaves more to plan.
    goal_set(by=alice, curriculum=arith, concept="div", student=alice)
    master(alice, arith, "count")
    return session_start(student=alice, problem=arith.problems.get(key="add-1"))


def test_finishing_a_problem_chooses_the_next_one_after_commit(alice, arith, django_capture_on_commit_callbacks):
    session = _alice_on_add(alice, arith)
    turn_run(_answer(session, 1, "1").pk)
    last = _answer(session, 2, "2")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        turn_run(last.pk)
    session.refresh_from_db()
    assert session.status == TutorSession.Status.DONE
    assert not PlanDecision.objects.filter(session=session).exists()  # nothing ran inside the turn
    assert len(callbacks) == 1

    callbacks[0]()
    decision = PlanDecision.objects.get(session=session, kind="next_problem")
    assert decision.problem is not None and decision.problem.key != "add-1"
    assert decision.reason.startswith("next: ") and "because goal Division needs it" in decision.reason


def test_a_turn_that_does_not_finish_the_problem_plans_nothing(alice, arith, django_capture_on_commit_callbacks):
    session = _alice_on_add(alice, arith)
    first = _answer(session, 1, "1")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        turn_run(first.pk)
    assert callbacks == []
    assert not PlanDecision.objects.filter(session=session).exists()


def test_problem_finished_is_idempotent_per_session(alice, arith, django_capture_on_commit_callbacks):
    session = _alice_on_add(alice, arith)
    turn_run(_answer(session, 1, "1").pk)
    last = _answer(session, 2, "2")
    with django_capture_on_commit_callbacks(execute=True):
        turn_run(last.pk)
    first = problem_finished(session.pk)
    assert problem_finished(session.pk).pk == first.pk
    assert PlanDecision.objects.filter(session=session, kind="next_problem").count() == 1


def test_problem_finished_ignores_an_unfinished_session(alice, arith):
    session = _alice_on_add(alice, arith)
    assert problem_finished(session.pk) is None


def test_a_planner_failure_never_breaks_tutoring(alice, arith, monkeypatch, django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise RuntimeError("planner down")

    monkeypatch.setattr(actions, "next_problem_decide", broken)
    session = _alice_on_add(alice, arith)
    turn_run(_answer(session, 1, "1").pk)
    last = _answer(session, 2, "2")
    with django_capture_on_commit_callbacks(execute=True):
        replies = turn_run(last.pk)
    assert len(replies) == 1
    assert problem_finished(session.pk) is None


def test_the_finished_session_page_offers_the_chosen_next_problem(
    client, alice, arith, django_capture_on_commit_callbacks
):
    session = _alice_on_add(alice, arith)
    page = login(client, alice).get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="next-step-after-session" class="next-step" aria-labelledby="next-after-heading" hidden' in page
    turn_run(_answer(session, 1, "1").pk)
    last = _answer(session, 2, "2")
    with django_capture_on_commit_callbacks(execute=True):
        turn_run(last.pk)
    decision = PlanDecision.objects.get(session=session, kind="next_problem")
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f"Next problem: {decision.problem.title}" in page
    assert f'action="/problems/{decision.problem.pk}/start/"' in page
    assert 'next-after-heading" hidden' not in page

"""The SQL filters that keep the reports from loading every turn: each report gets exactly the turns it reads."""

from __future__ import annotations

import pytest

from tests.coaching_data import say, work
from tutor.coaching import selectors
from tutor.dialogue.actions import session_start

pytestmark = pytest.mark.django_db


def test_dashboard_turns_are_misconceptions_solutions_and_hint_answers(alice, demo_problem, fractions):
    work(alice, demo_problem, ["12", "8", "forty", "seventy", "ninety"])  # misconception, correct, 3 wrong -> solution
    session = session_start(student=alice, problem=demo_problem)
    say(session, "hint", kind="hint_request")
    every = selectors.class_turns([alice], fractions)
    dashboard = selectors.class_turns([alice], fractions, selectors.DASHBOARD_TURNS)
    expected = [
        t
        for t in every
        if t.record.get("misconception") or t.record.get("action") in (2, 5, 9) or t.kind == "hint_request"
    ]
    assert dashboard == expected
    assert {t.student_text for t in dashboard} >= {"12", "hint"}
    assert "8" not in {t.student_text for t in dashboard}


def test_misconception_turns_are_matched_or_incorrect(alice, demo_problem, fractions):
    work(alice, demo_problem, ["12", "8", "forty"])
    turns = selectors.class_turns([alice], fractions, selectors.MISCONCEPTION_TURNS)
    assert [t.student_text for t in turns] == ["12", "forty"]


def test_turns_of_other_curricula_and_students_are_left_out(alice, bob, demo_problem, fractions):
    work(bob, demo_problem, ["12"])
    assert selectors.class_turns([alice], fractions) == []

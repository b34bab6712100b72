"""Recommendations name students, concepts and a next step, and cite the data behind them."""

from __future__ import annotations

import pytest

from tests.coaching_data import work
from tests.conftest import login
from tutor.coaching import selectors

pytestmark = pytest.mark.django_db


def recs_for(students, curriculum):
    mastery = selectors.class_mastery(students, curriculum)
    turns = selectors.class_turns(students, curriculum)
    return selectors.recommendations(students, curriculum, mastery, selectors.misconception_counts(students, turns))


def test_shared_misconception_makes_a_small_group(tess, alice, bob, demo_problem, fractions):
    work(alice, demo_problem, ["12"])
    work(bob, demo_problem, ["12"])
    group = next(r for r in recs_for([alice, bob], fractions) if r["kind"] == "group")
    assert group["students"] == ["Alice", "Bob"]
    assert "sum-of-denominators" in group["title"] and "2 students showed it" in group["evidence"]
    assert "Alice, Bob" in group["next_step"]


def test_misconception_of_one_student_makes_no_group(tess, alice, bob, demo_problem, fractions):
    work(alice, demo_problem, ["12"])
    assert not [r for r in recs_for([alice, bob], fractions) if r["kind"] == "group"]


def test_concept_weak_for_most_of_the_class_is_a_whole_class_reteach(tess, alice, bob, demo_problem, fractions):
    work(alice, demo_problem, ["12", "32"])
    work(bob, demo_problem, ["forty", "twelve"])
    reteach = [r for r in recs_for([alice, bob], fractions) if r["kind"] == "reteach"]
    assert [r["concepts"] for r in reteach] == [["Adding fractions with unlike denominators"]]
    assert "2 of 2 students with evidence are below 50%" in reteach[0]["evidence"]


def test_student_who_mastered_everything_practised_is_ready_to_move_on(tess, alice, bob, demo_problem, fractions):
    work(bob, demo_problem, ["8", "6", "7/8"])
    [ready] = [r for r in recs_for([alice, bob], fractions) if r["kind"] == "ready"]
    assert ready["students"] == ["Bob"] and "mastered: Adding fractions" in ready["evidence"]
    assert ready["next_step"]


def test_weak_prerequisite_shared_by_two_students_makes_a_group(tess, alice, bob, fractions):
    from models.mastery import Evidence
    from tutor.learners.actions import learner_evidence_record

    prereqs = selectors.prerequisites_of(fractions)
    concept, [pre, *_] = next(iter(prereqs.items()))
    for student in (alice, bob):
        learner_evidence_record(
            student=student,
            curriculum=fractions,
            evidence=[Evidence(concept, False), Evidence(pre, False), Evidence(pre, False)],
        )
    groups = [r for r in recs_for([alice, bob], fractions) if r["kind"] == "group"]
    assert any("prerequisite" in r["title"] and r["students"] == ["Alice", "Bob"] for r in groups)


def test_dashboard_shows_recommendations(client, tess, alice, bob, demo_problem, tess_class):
    work(alice, demo_problem, ["12"])
    work(bob, demo_problem, ["12"])
    html = login(client, tess).get(f"/teach/classes/{tess_class.pk}/coaching/").content.decode()
    assert "Small group on the misconception" in html and "Next step" in html

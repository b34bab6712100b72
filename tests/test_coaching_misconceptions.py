"""Misconception insight: authored misconceptions across the class, clusters of unmatched answers, one-click suggest."""

from __future__ import annotations

import pytest

from tests.coaching_data import work
from tests.conftest import login
from tutor.coaching import selectors
from tutor.coaching.actions import CoachingError, misconception_suggestion_create
from tutor.coaching.models import MisconceptionSuggestion

pytestmark = pytest.mark.django_db


def url(classroom, tail: str = "") -> str:
    return f"/teach/classes/{classroom.pk}/coaching/misconceptions/{tail}"


def exact(texts: list[str]):
    raise RuntimeError("tests use exact grouping")


def test_most_frequent_misconception_lists_students_and_example_turns(tess, alice, bob, demo_problem, fractions):
    work(alice, demo_problem, ["12"])
    work(bob, demo_problem, ["12", "32"])
    turns = selectors.class_turns([alice, bob], fractions)
    counts = selectors.misconception_counts([alice, bob], turns)
    assert counts[0]["id"] == "sum-of-denominators"
    assert counts[0]["students"] == ["Alice", "Bob"] and counts[0]["count"] == 2
    assert counts[0]["examples"][0].student_text == "12"
    assert {c["id"] for c in counts} == {"sum-of-denominators", "product-of-denominators"}


def test_unmatched_wrong_answers_are_clustered_per_step(tess, alice, bob, demo_problem, fractions):
    work(alice, demo_problem, ["forty"])
    work(bob, demo_problem, ["Forty "])
    turns = selectors.class_turns([alice, bob], fractions)
    clusters = selectors.wrong_answer_clusters([alice, bob], turns, embed=exact)
    [cluster] = clusters
    assert cluster["students"] == ["Alice", "Bob"] and cluster["size"] == 2
    assert cluster["subproblem"].position == 0


def test_authored_misconceptions_are_not_in_the_unmatched_clusters(tess, alice, demo_problem, fractions):
    work(alice, demo_problem, ["12"])
    assert selectors.unmatched_wrong_answers(selectors.class_turns([alice], fractions)) == []


def test_teacher_suggests_a_cluster_as_a_pending_misconception(client, tess, alice, bob, demo_problem, tess_class):
    work(alice, demo_problem, ["forty"])
    work(bob, demo_problem, ["forty"])
    sub = demo_problem.subproblems.get(position=0)
    response = login(client, tess).post(
        url(tess_class, "suggest/"), {"subproblem": sub.pk, "answer": "forty"}, follow=True
    )
    assert response.status_code == 200
    [suggestion] = MisconceptionSuggestion.objects.all()
    assert suggestion.status == "pending" and suggestion.students == 2 and suggestion.suggested_by == tess
    assert "an admin publishes it" in response.content.decode()
    # The curriculum is untouched until an admin publishes.
    sub.refresh_from_db()
    assert all(m["answer"] != "forty" for m in sub.misconceptions)


def test_second_click_returns_the_pending_suggestion(tess, demo_problem):
    sub = demo_problem.subproblems.get(position=0)
    first = misconception_suggestion_create(subproblem=sub, answer="forty", examples=["forty"], students=1, by=tess)
    again = misconception_suggestion_create(subproblem=sub, answer="forty", examples=["forty"], students=1, by=tess)
    assert first.pk == again.pk and MisconceptionSuggestion.objects.count() == 1


def test_suggesting_an_authored_misconception_is_refused(tess, demo_problem):
    sub = demo_problem.subproblems.get(position=0)
    with pytest.raises(CoachingError, match="already an authored misconception"):
        misconception_suggestion_create(subproblem=sub, answer="12", examples=["12"], students=1, by=tess)


def test_suggesting_an_answer_nobody_gave_stores_nothing(client, tess, alice, demo_problem, tess_class):
    sub = demo_problem.subproblems.get(position=0)
    response = login(client, tess).post(url(tess_class, "suggest/"), {"subproblem": sub.pk, "answer": "made up"})
    assert response.status_code == 302
    assert not MisconceptionSuggestion.objects.exists()


def test_page_shows_clusters_with_the_add_to_curriculum_button(client, tess, alice, demo_problem, tess_class):
    work(alice, demo_problem, ["forty"])
    html = login(client, tess).get(url(tess_class)).content.decode()
    assert "Suggest “forty” as a misconception" in html


def test_teacher_cannot_see_or_suggest_from_other_class(client, trent, alice, demo_problem, tess_class):
    sub = demo_problem.subproblems.get(position=0)
    login(client, trent)
    assert client.get(url(tess_class)).status_code == 404
    assert client.post(url(tess_class, "suggest/"), {"subproblem": sub.pk, "answer": "x"}).status_code == 404

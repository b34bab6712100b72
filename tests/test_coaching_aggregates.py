"""The dashboard's pre-aggregated tables: equal to the naive computation, refreshed after commit, idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase

from tests.coaching_data import say, work
from tests.conftest import login
from tutor.coaching import selectors
from tutor.coaching.actions import coaching_aggregates_refresh, coaching_refresh_enqueue
from tutor.coaching.models import ConceptAggregate, DailyActivity, MisconceptionAggregate, StudentSummary
from tutor.dialogue.actions import session_start

pytestmark = pytest.mark.django_db

TABLES = (StudentSummary, ConceptAggregate, DailyActivity, MisconceptionAggregate)


def snapshot() -> list:
    """Every aggregate row's content, without ids or refresh times, in a stable order."""
    out = []
    for model in TABLES:
        fields = [f.attname for f in model._meta.fields if f.attname not in ("id", "refreshed_at")]
        out.append(sorted(model.objects.values_list(*fields), key=repr))
    return out


def comparable(data: dict) -> dict:
    """The parts of ``dashboard_data`` both paths must agree on (aggregates keep no example turns)."""
    mastery = data["mastery"]
    return {
        "mastery": dict(mastery.value),
        "evidence": {k: n for k, n in mastery.evidence.items() if n},
        "misconceptions": [{k: v for k, v in m.items() if k != "examples"} for m in data["misconceptions"]],
        "attention": data["attention"],
        "activity": data["activity"],
        "recommendations": data["recommendations"],
        "goals": [{k: v for k, v in g.items()} for g in data["goals"]],
    }


def a_class_day(alice, bob, demo_problem) -> None:
    """Wrong answers (with the authored misconception), hints in quick succession, solutions and a solved problem."""
    work(alice, demo_problem, ["12", "32", "ten", "one", "two", "three"])  # stuck: bottom-out solutions
    work(bob, demo_problem, ["12", "8", "6", "7/8"])
    session = session_start(student=bob, problem=demo_problem)
    for _ in range(4):
        say(session, "hint", kind="hint_request")


def test_aggregates_equal_the_naive_computation_after_real_turns(tess, alice, bob, demo_problem, tess_class):
    a_class_day(alice, bob, demo_problem)
    curriculum = demo_problem.curriculum
    fast = selectors.dashboard_data(tess_class, curriculum)
    slow = selectors.dashboard_data(tess_class, curriculum, aggregated=False)
    assert comparable(fast) == comparable(slow)
    # The day's data is really there, so the equality is not between two empty dashboards.
    assert any(fast["mastery"].value.values())
    assert {a["reason"] for a in fast["attention"]} >= {"stuck", "gaming"}
    assert fast["activity"][-1]["messages"] > 0
    assert fast["misconceptions"] and fast["recommendations"]


def test_refresh_is_idempotent_and_the_command_rebuilds_from_source(tess, alice, bob, demo_problem, tess_class):
    a_class_day(alice, bob, demo_problem)
    slug = demo_problem.curriculum.slug
    after_turns = snapshot()
    assert all(after_turns)
    coaching_aggregates_refresh(student_id=alice.pk, curriculum_slug=slug)
    coaching_aggregates_refresh(student_id=alice.pk, curriculum_slug=slug)
    assert snapshot() == after_turns
    for model in TABLES:
        model.objects.all().delete()
    call_command("coaching_refresh", stdout=None)
    assert snapshot() == after_turns
    call_command("coaching_refresh", "--curriculum", slug, stdout=None)
    assert snapshot() == after_turns


def test_dashboard_page_reads_the_aggregates(client, tess, alice, bob, demo_problem, tess_class):
    work(bob, demo_problem, ["8", "6", "7/8"])
    page = login(client, tess).get(f"/teach/classes/{tess_class.pk}/coaching/")
    bob_row = next(r for r in page.context["heatmap"]["rows"] if r["student"] == bob)
    assert any(c["n"] for c in bob_row["cells"])
    ConceptAggregate.objects.all().delete()  # the source is untouched: only a page reading aggregates changes
    page = login(client, tess).get(f"/teach/classes/{tess_class.pk}/coaching/")
    bob_row = next(r for r in page.context["heatmap"]["rows"] if r["student"] == bob)
    assert not any(c["n"] for c in bob_row["cells"])


def test_one_refresh_per_student_and_curriculum_per_transaction(alice, bob, fractions):
    with TestCase.captureOnCommitCallbacks() as callbacks, transaction.atomic():
        for _ in range(3):
            coaching_refresh_enqueue(student_id=alice.pk, curriculum_slug=fractions.slug)
        coaching_refresh_enqueue(student_id=bob.pk, curriculum_slug=fractions.slug)
    assert sorted(c.coaching_key for c in callbacks) == sorted([(alice.pk, fractions.slug), (bob.pk, fractions.slug)])


def test_a_rolled_back_refresh_does_not_block_the_next(alice, fractions):
    with TestCase.captureOnCommitCallbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            coaching_refresh_enqueue(student_id=alice.pk, curriculum_slug=fractions.slug)
            raise RuntimeError("the turn failed")
        with transaction.atomic():
            coaching_refresh_enqueue(student_id=alice.pk, curriculum_slug=fractions.slug)
    assert [c.coaching_key for c in callbacks] == [(alice.pk, fractions.slug)]


def test_with_celery_the_refresh_is_a_task_on_the_agents_queue(alice, fractions, settings, monkeypatch):
    from tutor.coaching import tasks

    sent = []
    monkeypatch.setattr(tasks.refresh_student, "delay", lambda *args: sent.append(args))
    settings.TURN_EXECUTOR = "celery"
    settings.COACHING_REFRESH_DEBOUNCE_S = 0  # one task per turn (test_coaching_refresh_debounce.py: windows)
    with TestCase.captureOnCommitCallbacks(execute=True):
        coaching_refresh_enqueue(student_id=alice.pk, curriculum_slug=fractions.slug)
    assert sent == [(alice.pk, fractions.slug)]
    assert settings.CELERY_TASK_ROUTES["tutor.coaching.tasks.*"] == {"queue": "agents"}
    assert not StudentSummary.objects.exists()  # nothing ran inline

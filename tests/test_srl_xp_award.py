"""The game's XP through the real dialogue: simulated students from ``tutor.agents.simstudents``, then ``srl_sync``."""

from __future__ import annotations

from django.utils import timezone

from tests.srl_harness import Clock, open_session, play, say, started_study
from tutor.agents.simstudents import Guesser, HelpAbuser, TerseStudent
from tutor.dialogue.actions import problem_key
from tutor.srl import rules
from tutor.srl.actions import srl_sync, study_session_finish, xp_award
from tutor.srl.models import SrlEvent
from tutor.srl.selectors import badge_counts, game_from_events, game_state


def _turn_xp(study) -> int:
    return sum(SrlEvent.objects.filter(study_session=study, kind="turn").values_list("xp", flat=True))


def test_an_honest_solver_earns_xp_for_every_step(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    session = open_session(alice, demo_problem, clock)
    play(session, TerseStudent(problem_key(demo_problem)), clock, wait=20)
    srl_sync(study)
    steps = demo_problem.subproblems.count()
    assert _turn_xp(study) == steps * rules.XP_SOLVED_ALONE


def test_hint_farming_earns_no_xp(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    session = open_session(alice, demo_problem, clock)
    play(session, HelpAbuser(problem_key(demo_problem)), clock, wait=2)
    signals = srl_sync(study)
    assert _turn_xp(study) == 0
    assert SrlEvent.objects.filter(kind="turn", study_session=study).count() > 5
    assert "hint_abuse" in signals or SrlEvent.objects.filter(kind="prompt", data__signal="hint_abuse").exists()


def test_rapid_guessing_earns_no_xp(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    session = open_session(alice, demo_problem, clock)
    play(session, Guesser(problem_key(demo_problem)), clock, wait=1.5)
    srl_sync(study)
    assert _turn_xp(study) == 0
    assert SrlEvent.objects.filter(kind="prompt", data__signal="rapid_guessing").exists()


def test_re_solving_a_solved_problem_earns_no_xp(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    play(open_session(alice, demo_problem, clock), TerseStudent(problem_key(demo_problem)), clock, wait=20)
    srl_sync(study)
    before = _turn_xp(study)
    play(open_session(alice, demo_problem, clock), TerseStudent(problem_key(demo_problem)), clock, wait=20)
    srl_sync(study)
    assert _turn_xp(study) == before > 0


def test_sync_is_idempotent(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    play(open_session(alice, demo_problem, clock), TerseStudent(problem_key(demo_problem)), clock, wait=20)
    srl_sync(study)
    first = game_state(alice).xp
    srl_sync(study)
    srl_sync(study)
    assert game_state(alice).xp == first


def test_a_comeback_after_two_wrong_answers_earns_the_badge(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    session = open_session(alice, demo_problem, clock)
    say(session, "5", clock, wait=30)
    say(session, "4", clock, wait=30)
    say(session, "8", clock, wait=30)
    srl_sync(study)
    assert "comeback" in game_state(alice).badges


def test_goal_met_and_mastery_gain_pay_at_the_end(alice, fractions, demo_problem):
    study, clock = started_study(alice, fractions), Clock()
    play(open_session(alice, demo_problem, clock), TerseStudent(problem_key(demo_problem)), clock, wait=20)
    study = study_session_finish(study)
    assert SrlEvent.objects.filter(study_session=study, kind="goal_met", xp=rules.XP_GOAL_MET).exists()
    assert study.mastery_after["frac.add-unlike"] > study.mastery_before["frac.add-unlike"]


def test_xp_award_pays_once_per_key(alice):
    assert xp_award(student=alice, key="k", kind="test", xp=3)[1]
    assert not xp_award(student=alice, key="k", kind="test", xp=3)[1]
    assert game_state(alice).xp == 3


def test_replaying_the_event_log_rebuilds_xp_level_and_badges(alice, bob, fractions, demo_problem):
    for student in (alice, bob):
        study, clock = started_study(student, fractions), Clock()
        play(open_session(student, demo_problem, clock), TerseStudent(problem_key(demo_problem)), clock, wait=20)
        srl_sync(study)
    for student in (alice, bob):
        stored = game_state(student)
        rows = SrlEvent.objects.filter(student=student).order_by("pk")
        events = [(e.kind, e.xp, e.data, timezone.localdate(e.created_at)) for e in rows]
        replayed = game_from_events(events, timezone.localdate())
        assert (replayed.xp, replayed.level, sorted(replayed.badges)) == (
            stored.xp,
            stored.level,
            sorted(stored.badges),
        )
        assert sorted(rules.badges_earned(*badge_counts(student))) == sorted(stored.badges)


def test_the_database_game_state_matches_the_replay_over_many_days(alice):
    """``game_state`` (grouped in SQL) and ``game_from_events`` (the replay) agree on XP, level, streak, badges."""
    from datetime import timedelta

    now = timezone.now()
    history = [  # (days ago, kind, xp): a freeze on day 3, a zero-XP turn (not a study day) on day 6
        (0, "turn", 10),
        (1, "checkin", 2),
        (2, "reflection", 10),
        (4, "goal_set", 5),
        (5, "turn", 6),
        (6, "turn", 0),
        (9, "turn", 10),
    ]
    for n, (days_ago, kind, xp) in enumerate(history):
        event, _ = xp_award(student=alice, key=f"h{n}", kind=kind, xp=xp)
        SrlEvent.objects.filter(pk=event.pk).update(created_at=now - timedelta(days=days_ago))
    xp_award(student=alice, key="badge:first_smart_goal", kind="badge", data={"badge": "first_smart_goal"})
    rows = SrlEvent.objects.filter(student=alice).order_by("created_at", "pk")
    replayed = game_from_events(
        [(e.kind, e.xp, e.data, timezone.localdate(e.created_at)) for e in rows], timezone.localdate()
    )
    stored = game_state(alice)
    assert stored == replayed
    assert stored.xp == 43 and stored.streak.days == 6 and len(stored.streak.frozen) == 1

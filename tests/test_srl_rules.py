"""The pure SRL rules (``tutor/srl/rules.py``): their doctests, and the behaviours the game promises."""

from __future__ import annotations

import doctest
from datetime import date, timedelta

from tutor.srl import rules
from tutor.srl.rules import Turn


def turn(ev: str, *, kind: str = "answer", wait: float = 20.0, sub: str = "s1", at: float = 0.0) -> Turn:
    state = "y" if ev == "b" else "x"
    return Turn(at=at, wait_s=wait, kind=kind, evaluation=ev, action=3 if ev == "b" else 1, state=state, subproblem=sub)


def test_the_rules_doctests_pass():
    assert doctest.testmod(rules).failed == 0


def test_vague_goal_gets_a_follow_up_not_acceptance():
    for vague in ("do better", "get good", "learn stuff", "study"):
        check = rules.goal_quality(vague, ["Equivalent fractions"])
        assert not check.accepted
        assert check.follow_up.endswith("?") or "?" in check.follow_up


def test_goal_without_a_time_frame_asks_by_when():
    check = rules.goal_quality("Solve 3 equivalent fractions problems", ["Equivalent fractions"])
    assert (check.specific, check.measurable, check.time_bound) == (True, True, False)
    assert check.follow_up.startswith("By when?")


def test_smart_goal_is_accepted_with_its_target():
    check = rules.goal_quality("Finish five equivalent fraction problems this session", ["Equivalent fractions"])
    assert check.accepted and check.target == 5 and check.follow_up == ""


def test_confidence_against_correctness_gives_calibration_feedback():
    assert "well judged" in rules.calibration_feedback(5, True, 0.8)
    assert "very sure" in rules.calibration_feedback(5, False, None)
    assert "80%" in rules.calibration_feedback(4, True, 0.8)


def test_rapid_wrong_answers_are_rapid_guessing():
    turns = [turn("a", wait=1.5, at=i) for i in range(3)]
    assert rules.disengagement(turns, now=4) == ["rapid_guessing"]


def test_slow_wrong_answers_are_not_disengagement():
    turns = [turn("a", wait=30, at=i) for i in range(4)]
    assert rules.disengagement(turns, now=5) == []


def test_three_quick_hint_requests_are_hint_abuse():
    turns = [turn("f", kind="hint_request", wait=3, at=i) for i in range(3)]
    assert "hint_abuse" in rules.disengagement(turns, now=3)


def test_a_hint_after_an_attempt_is_not_hint_abuse():
    turns = [turn("f", kind="hint_request", wait=3), turn("a", wait=30), turn("f", kind="hint_request", wait=3)]
    assert "hint_abuse" not in rules.disengagement(turns, now=3)


def test_long_silence_on_an_open_problem_is_idle():
    assert rules.disengagement([turn("a", at=0)], now=rules.IDLE_S + 1) == ["idle"]


def test_step_solved_alone_earns_more_than_with_hints():
    alone = rules.turn_grants([turn("b")], solved_before=False)
    helped = rules.turn_grants([turn("f", kind="hint_request"), turn("b")], solved_before=False)
    assert sum(g.xp for g in alone) == rules.XP_SOLVED_ALONE > sum(g.xp for g in helped) > 0


def test_hint_farming_earns_no_xp():
    farm = [turn("f", kind="hint_request", wait=1) for _ in range(10)]
    assert sum(g.xp for g in rules.turn_grants(farm, solved_before=False)) == 0


def test_rapid_guessing_earns_no_xp_even_when_a_guess_lands():
    guesses = [turn("a", wait=1), turn("a", wait=1), turn("b", wait=1)]
    assert sum(g.xp for g in rules.turn_grants(guesses, solved_before=False)) == 0


def test_a_rapid_correct_answer_earns_no_xp():
    assert rules.turn_grants([turn("b", wait=2)], solved_before=False)[0].xp == 0


def test_re_solving_a_solved_problem_earns_no_xp():
    assert sum(g.xp for g in rules.turn_grants([turn("b"), turn("b", sub="s2")], solved_before=True)) == 0


def test_a_step_pays_once():
    grants = rules.turn_grants([turn("b"), turn("b")], solved_before=False)
    assert [g.xp for g in grants] == [rules.XP_SOLVED_ALONE, 0]


def test_no_strategy_of_gaming_beats_honest_work():
    """Whatever a gamer adds (hints, guesses, repeats) to a step, the step pays at most what honest work pays."""
    honest = sum(g.xp for g in rules.turn_grants([turn("b")], solved_before=False))
    for extra in (
        [turn("f", kind="hint_request", wait=1)] * 3,
        [turn("a", wait=1)] * 3,
        [turn("b")] * 3,
    ):
        gamed = sum(g.xp for g in rules.turn_grants([*extra, turn("b")], solved_before=False))
        assert gamed <= honest


def test_reflection_naming_a_strategy_and_effort_is_deep():
    depth = rules.reflection_depth(
        "Drawing a diagram helped me", "Finding the common denominator", "Next time I will check each step"
    )
    assert depth.score == 3


def test_ability_attribution_gets_reframed_not_rewarded():
    depth = rules.reflection_depth("I tried", "I'm bad at maths", "nothing")
    assert depth.ability and not depth.effort
    assert any("ability" in line for line in depth.feedback)


def test_one_missed_day_uses_the_weekly_freeze():
    friday = date(2026, 11, 27)
    s = rules.streak({friday, friday - timedelta(2), friday - timedelta(3)}, friday)
    assert s.days == 4 and s.frozen == (friday - timedelta(1),)


def test_two_missed_days_in_a_row_end_the_streak():
    friday = date(2026, 11, 27)
    assert rules.streak({friday, friday - timedelta(3)}, friday).days == 1


def test_the_streak_survives_until_today_is_over():
    friday = date(2026, 11, 27)
    s = rules.streak({friday - timedelta(1), friday - timedelta(2)}, friday)
    assert s.days == 2 and not s.active_today


def test_calibration_within_ten_percent_earns_the_badge():
    assert "calibrated" in rules.badges_earned(0, 0, [(5, True)] * 5, 0)
    assert "calibrated" not in rules.badges_earned(0, 0, [(5, False)] * 5, 0)


def test_levels_need_more_xp_as_they_rise():
    assert [rules.level_of(x)[0] for x in (0, 25, 99, 100, 225)] == [1, 2, 2, 3, 4]

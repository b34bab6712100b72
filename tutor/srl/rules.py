"""The rules of self-regulated learning and its game. Pure: no Django, no database, deterministic.

Every threshold is a named constant here and is listed in ``docs/srl.md``.
The three phases follow Zimmerman (2002), "Becoming a self-regulated
learner": forethought (goal, strategy, self-efficacy), performance
(self-monitoring) and self-reflection (self-evaluation, causal attribution).
The gamified wrapper follows SRLAgent (2025): the game rewards the SRL
behaviours themselves, so the XP rules below pay for effort and evidence of
learning, never for the behaviours Baker et al. (2004, 2008) call "gaming the
system" (rapid guessing, hint abuse).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

# --- Forethought: goal quality (SMART) -----------------------------------------------------------------------

STRATEGIES = {
    "worked_examples": "Study worked examples",
    "practice": "Practise problems",
    "review": "Review what I know",
}

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a": 1,
    "an": 1,
}
_UNITS = r"(problems?|questions?|exercises?|steps?|examples?)"
_COUNT = re.compile(rf"\b(\d+|{'|'.join(w for w in _NUMBER_WORDS if len(w) > 2)})\s+(?:\w+\s+){{0,2}}?{_UNITS}\b")
_PERCENT = re.compile(r"\b\d{1,3}\s*(%|percent)")
_TIME = re.compile(
    r"\b(in|within|for)\s+(\d+|\w+)\s*(min(ute)?s?|hours?|h)\b|\b(today|tonight|this (session|lesson|hour))\b"
    r"|\bby (the end|\d)|\bbefore\b"
)
_VAGUE = re.compile(r"^\s*(do|get|be)\s+(better|good|well|more)\b|^\s*(learn|study|work)( stuff| things| more)?\s*$")


@dataclass(frozen=True)
class GoalCheck:
    """The result of ``goal_quality``: which SMART parts are present, and the next scaffolding question."""

    specific: bool
    measurable: bool
    time_bound: bool
    target: int | None  # the number of problems (or steps) the goal names, when it names one
    follow_up: str  # "" when the goal is accepted
    feedback: list[str] = field(default_factory=list)
    unit: str = "problem"  # what ``target`` counts: "problem" or "step"

    @property
    def accepted(self) -> bool:
        return self.specific and self.measurable and self.time_bound


def _count(text: str) -> tuple[int | None, str]:
    m = _COUNT.search(text)
    if m is None:
        return None, "problem"
    word = m.group(1)
    unit = "problem" if m.group(2).startswith(("problem", "question", "exercise", "example")) else "step"
    return (int(word) if word.isdigit() else _NUMBER_WORDS[word]), unit


def goal_quality(text: str, concept_names: list[str]) -> GoalCheck:
    """Check a session goal for specificity, measurability and a time frame (Locke & Latham; Zimmerman 2002).

    Specific: it names one of the chosen concepts (two of its words suffice
    for long names) or a word of at least five letters from one of them.
    Measurable: a count of problems/steps ("3 problems", "five questions")
    or a percentage. Time-bound: "in 20 minutes", "today", "this session",
    "by the end". A vague goal ("do better") is never accepted: the student
    gets ONE question, about the first missing part, which is the scaffold
    SRLAgent uses instead of a lecture.

    >>> goal_quality("do better", ["Equivalent fractions"]).follow_up
    'Which topic will you work on? For example: "equivalent fractions".'
    >>> c = goal_quality("Solve 3 equivalent fractions problems in 20 minutes", ["Equivalent fractions"])
    >>> c.accepted, c.target
    (True, 3)
    >>> goal_quality("practise equivalent fractions", ["Equivalent fractions"]).follow_up
    'How will you know you did it? Say how many problems you will solve, e.g. "3 problems".'
    """
    low = " ".join(text.lower().split())
    vague = bool(_VAGUE.search(low)) or len(low.split()) < 3
    words = {w for name in concept_names for w in re.findall(r"[a-z]{5,}", name.lower())}
    specific = not vague and (any(n.lower() in low for n in concept_names) or any(w in low for w in words))
    target, unit = _count(low)
    measurable = not vague and (target is not None or bool(_PERCENT.search(low)))
    time_bound = not vague and bool(_TIME.search(low))
    feedback = []
    feedback.append("It names what you will work on." if specific else "It does not say what you will work on yet.")
    feedback.append("It says how you will know you did it." if measurable else "It does not say how much yet.")
    feedback.append("It has a time frame." if time_bound else "It has no time frame yet.")
    example = concept_names[0].lower() if concept_names else "equivalent fractions"
    if not specific:
        follow_up = f'Which topic will you work on? For example: "{example}".'
    elif not measurable:
        follow_up = 'How will you know you did it? Say how many problems you will solve, e.g. "3 problems".'
    elif not time_bound:
        follow_up = 'By when? Add a time frame, e.g. "in 20 minutes" or "this session".'
    else:
        follow_up = ""
    return GoalCheck(specific, measurable, time_bound, target, follow_up, feedback, unit)


# --- Performance: calibration --------------------------------------------------------------------------------


def confidence_probability(confidence: int) -> float:
    """A 1-5 confidence rating as a probability of being right: 1 -> 0.1, 3 -> 0.5, 5 -> 0.9.

    Midpoints of five equal bins, the usual mapping of a Likert confidence
    scale for calibration scores (Dunlosky & Rawson 2012).

    >>> [confidence_probability(c) for c in range(1, 6)]
    [0.1, 0.3, 0.5, 0.7, 0.9]
    """
    if not 1 <= confidence <= 5:
        raise ValueError("confidence is 1..5")
    return round((confidence - 0.5) / 5, 2)


def calibration_feedback(confidence: int, correct: bool, predicted: float | None) -> str:
    """Words comparing how sure the student was with how it went and with the IRT prediction.

    Overconfidence is the costly error (students stop studying too early:
    Dunlosky & Rawson 2012), so it is named gently; underconfidence is
    reassured.

    >>> calibration_feedback(5, False, 0.4)  # doctest: +ELLIPSIS
    'You were very sure, but this step needed another try. The model expected about 40% success here. Before...'
    >>> calibration_feedback(2, True, None)
    'You got it, and you were not sure. You know more than you think.'
    """
    p = confidence_probability(confidence)
    if correct and p >= 0.5:
        text = "You were sure and you were right: well judged."
    elif correct:
        text = "You got it, and you were not sure. You know more than you think."
    elif p >= 0.7:
        text = "You were very sure, but this step needed another try."
    else:
        text = "You were unsure, and it was hard: a good sign you are watching your own learning."
    if predicted is not None:
        text += f" The model expected about {round(100 * predicted)}% success here."
    if not correct and p >= 0.7:
        text += " Before rating, check the step once more."
    return text


def calibration_error(pairs: list[tuple[int, bool]]) -> float | None:
    """Absolute difference between mean confidence and the share correct (bias magnitude), or None.

    >>> calibration_error([(5, True), (1, False)])
    0.0
    >>> calibration_error([])
    """
    if not pairs:
        return None
    mean_p = sum(confidence_probability(c) for c, _ in pairs) / len(pairs)
    share = sum(1 for _, ok in pairs if ok) / len(pairs)
    return round(abs(mean_p - share), 3)


# --- Performance: disengagement ------------------------------------------------------------------------------

RAPID_S = 5.0  # an answer sooner than this after the tutor spoke is too fast to have been worked out
RAPID_WRONG_RUN = 3  # this many rapid wrong answers among the last RAPID_WINDOW answers is rapid guessing
RAPID_WINDOW = 4
HINT_RUN = 3  # this many help requests in a row, with no attempt between, is hint abuse
HINT_FAST_S = 10.0  # ... each sooner than this after the previous tutor message
IDLE_S = 180.0  # no message for this long while a problem is open is idle time


@dataclass(frozen=True)
class Turn:
    """One student message and the tutor's reply, as the rules read them (from ``Message`` rows)."""

    at: float  # when the student sent it (seconds, any epoch)
    wait_s: float  # seconds between the tutor's previous message and this one
    kind: str  # "answer" or "hint_request"
    evaluation: str  # the reply's CLASS evaluation a..g
    action: int  # the reply's action 1..12
    state: str  # the reply's subproblem state w..z
    subproblem: str = ""


def is_help(turn: Turn) -> bool:
    return turn.kind == "hint_request" or turn.evaluation == "f"


def is_rapid_wrong(turn: Turn) -> bool:
    return turn.evaluation == "a" and turn.wait_s < RAPID_S


def disengagement(turns: list[Turn], now: float, done: bool = False) -> list[str]:
    """Signals of disengagement in a session's turns: "rapid_guessing", "hint_abuse", "idle".

    Rapid guessing (Baker et al. 2004; Wise & Kong 2005 response-time
    effort): at least 3 of the last 4 answers were wrong and sent less than
    5 s after the tutor spoke. Hint abuse (Aleven et al. 2006, help-seeking
    model): the last 3 messages are help requests, each under 10 s after the
    tutor's previous message, with no attempt between. Idle: nothing sent
    for 3 minutes while the problem is open.

    >>> fast_wrong = [Turn(at=i, wait_s=1.0, kind="answer", evaluation="a", action=1, state="x") for i in range(4)]
    >>> disengagement(fast_wrong, now=5)
    ['rapid_guessing']
    >>> hints = [Turn(at=i, wait_s=2.0, kind="hint_request", evaluation="f", action=8, state="x") for i in range(3)]
    >>> disengagement(hints, now=4)
    ['hint_abuse']
    >>> disengagement(hints[:1], now=1000)
    ['idle']
    >>> disengagement(hints[:1], now=1000, done=True)
    []
    """
    signals = []
    answers = [t for t in turns if t.kind == "answer" and t.evaluation in "abc"]
    if sum(is_rapid_wrong(t) for t in answers[-RAPID_WINDOW:]) >= RAPID_WRONG_RUN:
        signals.append("rapid_guessing")
    last = turns[-HINT_RUN:]
    if len(last) == HINT_RUN and all(is_help(t) and t.wait_s < HINT_FAST_S for t in last):
        signals.append("hint_abuse")
    if turns and not done and now - turns[-1].at > IDLE_S:
        signals.append("idle")
    return signals


PROMPTS = {
    "rapid_guessing": "Those answers came very fast. Try working the step out on paper first. What is the step asking?",
    "hint_abuse": "Hints help most after you try. What would your first move be? Give it a go, even if unsure.",
    "idle": "Still with us? Take a short break if you need one, then try the step again.",
}


# --- Reflection depth ----------------------------------------------------------------------------------------

_STRATEGY_WORDS = re.compile(
    r"\b(worked examples?|examples?|practi[cs]e[ds]?|review(ed|ing)?|re-?read|drew|draw(ing)?|diagram|"
    r"common denominator|check(ed|ing)?|step by step|wrote|writ(e|ing) (it|them) (down|out)|hints?|"
    r"broke|break(ing)? (it|the problem) (down|into)|explain(ed)?|flashcards?|notes?|slow(ed|er)? down)\b"
)
_EFFORT_WORDS = re.compile(
    r"\b(tried|try|trying|practi[cs]e|effort|worked hard|more time|slow(ed|er)? down|next time i|i will|"
    r"i'll|strategy|focus(ed)?|checked|check)\b"
)
_ABILITY_WORDS = re.compile(
    r"\b(i'?m (just )?(bad|good|stupid|dumb|smart|not a maths? person)|i am (just )?(bad|good|stupid|dumb|smart)|"
    r"not smart|no talent|natural(ly)?|can'?t do maths?|too hard for me)\b"
)


@dataclass(frozen=True)
class Depth:
    score: int  # 0..3
    strategy: bool  # names a specific strategy
    effort: bool  # attributes to effort or strategy (controllable causes)
    ability: bool  # attributes to fixed ability
    change: bool  # says what they will change
    feedback: list[str]


def reflection_depth(worked: str, hard: str, change: str) -> Depth:
    """Score a reflection 0..3 by transparent keyword heuristics (not a model; see docs/srl.md).

    One point each for: naming a specific strategy (Zimmerman 2002: strategy
    attributions sustain self-regulation), attributing to effort or strategy
    (controllable causes; Weiner's attribution theory as used by Zimmerman),
    and a concrete change of at least four words. An attribution to fixed
    ability ("I'm bad at maths") takes the attribution point away and gets
    a reframing sentence instead.

    >>> reflection_depth("good", "it", "nothing").score
    0
    >>> d = reflection_depth("Drawing a diagram helped", "Common denominators", "Next time I will check each step")
    >>> d.score, d.strategy, d.effort
    (3, True, True)
    >>> reflection_depth("nothing", "I'm bad at maths", "").ability
    True
    """
    everything = " ".join((worked, hard, change)).lower()
    strategy = bool(_STRATEGY_WORDS.search(everything))
    ability = bool(_ABILITY_WORDS.search(everything))
    effort = bool(_EFFORT_WORDS.search(everything)) and not ability
    changed = len(re.findall(r"\w+", change)) >= 4
    feedback = []
    feedback.append(
        "You named a specific strategy: that is what you can reuse."
        if strategy
        else "Name the strategy you used (worked examples, drawing, checking each step) so you can reuse it."
    )
    if ability:
        feedback.append(
            "You put it down to ability. Skills grow with practice: which strategy or effort would change the result?"
        )
    elif effort:
        feedback.append("You linked the result to your effort or strategy: those are things you control.")
    else:
        feedback.append("Say what caused the result: which effort or strategy made the difference?")
    feedback.append("You have a concrete plan for next time." if changed else "Add one concrete change for next time.")
    return Depth(int(strategy) + int(effort) + int(changed), strategy, effort, ability, changed, feedback)


# --- The game: XP, levels, streaks, badges -------------------------------------------------------------------

XP_SOLVED_ALONE = 10  # subproblem solved without a hint
XP_SOLVED_WITH_HINTS = 6  # solved after hints, but before the bottom-out solution
XP_GOAL_SMART = 5  # a goal that passed the SMART check (once per study session)
XP_CHECKIN = 2  # a check-in answered (once per subproblem)
XP_GOAL_MET = 20
XP_PER_DEPTH = 5  # per reflection depth point (0..3)
XP_MASTERY_PER_10 = 3  # per 10 points of mastery gained on the goal's concepts in a session (max 30 XP)


@dataclass(frozen=True)
class Grant:
    xp: int
    reason: str


def turn_grants(turns: list[Turn], solved_before: bool) -> list[Grant]:
    """The XP of every turn of one tutoring session, in order (same length as ``turns``).

    Pays only for a subproblem solved by the student (evaluation ``b``) before
    its bottom-out solution was given. Pays nothing for: hint requests (hint
    farming), wrong answers, a correct answer after rapid wrong guesses on the
    same subproblem (guessing through the options: Baker et al. 2004), any
    answer sent under ``RAPID_S`` seconds after the tutor spoke (response-time
    effort, Wise & Kong 2005: too fast to be worked out), and any turn
    on a problem already solved in an earlier session (re-solving). Because
    every paying turn needs a solved subproblem and each subproblem pays at
    most once, no sequence of turns earns more than the honest one.

    >>> t = lambda ev, kind="answer", wait=20.0, sub="s1": Turn(0, wait, kind, ev, 3 if ev == "b" else 1, "y", sub)
    >>> [g.xp for g in turn_grants([t("b")], solved_before=False)]
    [10]
    >>> [g.xp for g in turn_grants([t("f", "hint_request"), t("b")], solved_before=False)]
    [0, 6]
    >>> [g.xp for g in turn_grants([t("a", wait=1), t("a", wait=1), t("b", wait=20)], solved_before=False)]
    [0, 0, 0]
    >>> [g.xp for g in turn_grants([t("b", wait=2)], solved_before=False)]
    [0]
    >>> [g.reason for g in turn_grants([t("b")], solved_before=True)]
    ['re-solving a solved problem earns no XP']
    """
    grants = []
    helped: dict[str, int] = {}
    rapid: dict[str, int] = {}
    paid: set[str] = set()
    for turn in turns:
        sub = turn.subproblem
        if solved_before:
            grants.append(Grant(0, "re-solving a solved problem earns no XP"))
            continue
        if is_help(turn):
            helped[sub] = helped.get(sub, 0) + 1
            grants.append(Grant(0, "hints help you learn; they earn no XP"))
            continue
        if is_rapid_wrong(turn):
            rapid[sub] = rapid.get(sub, 0) + 1
            grants.append(Grant(0, "a rapid guess earns no XP"))
            continue
        if turn.evaluation != "b":
            grants.append(Grant(0, "a wrong or unclear answer earns no XP (no penalty either)"))
            continue
        if sub in paid:
            grants.append(Grant(0, "this step was already counted"))
        elif rapid.get(sub):
            grants.append(Grant(0, "solved after rapid guesses: no XP"))
        elif turn.wait_s < RAPID_S:
            grants.append(Grant(0, "an answer faster than 5 seconds earns no XP: take time to work it out"))
        elif helped.get(sub):
            grants.append(Grant(XP_SOLVED_WITH_HINTS, "step solved with hints, before the solution"))
        else:
            grants.append(Grant(XP_SOLVED_ALONE, "step solved on your own"))
        paid.add(sub)
    return grants


def mastery_xp(gain: float) -> int:
    """XP for mastery gained on the goal's concepts in a session (a fraction, 0..1; losses earn nothing).

    >>> mastery_xp(0.25), mastery_xp(-0.3), mastery_xp(1.0)
    (6, 0, 30)
    """
    return max(0, int(gain * 10)) * XP_MASTERY_PER_10


def level_of(xp: int) -> tuple[int, int, int]:
    """(level, XP at which this level started, XP the next level needs). Level n starts at 25 * (n - 1)^2.

    Quadratic thresholds: early levels come fast (encouragement), later ones
    need sustained work.

    >>> level_of(0), level_of(24), level_of(25), level_of(100)
    ((1, 0, 25), (1, 0, 25), (2, 25, 100), (3, 100, 225))
    """
    level = 1 + math.isqrt(max(xp, 0) // 25)
    while 25 * level * level <= xp:
        level += 1
    while 25 * (level - 1) ** 2 > xp:
        level -= 1
    return level, 25 * (level - 1) ** 2, 25 * level * level


@dataclass(frozen=True)
class Streak:
    days: int  # consecutive days counted, frozen days included
    frozen: tuple[date, ...]  # missed days covered by a freeze
    active_today: bool


def streak(active: set[date], today: date) -> Streak:
    """The current streak of study days, with at most one freeze per ISO week.

    A single missed day is covered by that week's freeze when the days on
    both sides of it were active, so one bad day does not wipe out weeks of
    work (the loss-aversion trap of streak games); two missed days in a row,
    or a second miss in the same week, end the streak. Today counts as not
    missed yet: the streak is still alive until the day is over.

    >>> d = date(2026, 11, 27)  # a Friday
    >>> streak({d, d - timedelta(1), d - timedelta(2)}, d).days
    3
    >>> s = streak({d, d - timedelta(2), d - timedelta(3)}, d)
    >>> s.days, s.frozen
    (4, (datetime.date(2026, 11, 26),))
    >>> streak({d, d - timedelta(2), d - timedelta(4)}, d).days  # second miss in the same week
    3
    """
    day = today if today in active else today - timedelta(days=1)
    count, frozen, used_weeks = 0, [], set()
    while True:
        if day in active:
            count += 1
        else:
            week = day.isocalendar()[:2]
            before = day - timedelta(days=1)
            if count and week not in used_weeks and before in active:
                used_weeks.add(week)
                frozen.append(day)
                count += 1
            else:
                break
        day -= timedelta(days=1)
    return Streak(count, tuple(frozen), today in active)


BADGES = {
    "first_smart_goal": "First SMART goal",
    "five_reflections": "Five reflections",
    "calibrated": "Calibration within 10%",
    "comeback": "Comeback after a hard problem",
}
CALIBRATION_MIN_CHECKINS = 5
CALIBRATION_BADGE_ERROR = 0.10
COMEBACK_WRONG = 2  # wrong answers on a step before solving it yourself


def badges_earned(smart_goals: int, reflections: int, checkins: list[tuple[int, bool]], comebacks: int) -> list[str]:
    """The badge ids the counts justify (each awarded once; the caller stores new ones).

    >>> badges_earned(1, 5, [(3, True)] * 5, 0)
    ['first_smart_goal', 'five_reflections']
    >>> badges_earned(0, 0, [(5, True)] * 4 + [(4, True)], 1)
    ['comeback']
    >>> badges_earned(0, 0, [(5, True), (4, True), (5, True), (5, True), (3, False)], 0)
    ['calibrated']
    """
    out = []
    if smart_goals >= 1:
        out.append("first_smart_goal")
    if reflections >= 5:
        out.append("five_reflections")
    error = calibration_error(checkins)
    if len(checkins) >= CALIBRATION_MIN_CHECKINS and error is not None and error <= CALIBRATION_BADGE_ERROR:
        out.append("calibrated")
    if comebacks >= 1:
        out.append("comeback")
    return out


def is_comeback(turns: list[Turn], index: int) -> bool:
    """Turn ``index`` solves a step the student got wrong at least twice (not rapidly) and took no solution for.

    >>> w = Turn(0, 30.0, "answer", "a", 1, "x", "s")
    >>> is_comeback([w, w, Turn(0, 30.0, "answer", "b", 3, "y", "s")], 2)
    True
    """
    turn = turns[index]
    if turn.evaluation != "b":
        return False
    before = [t for t in turns[:index] if t.subproblem == turn.subproblem]
    wrong = [t for t in before if t.evaluation in "ac" and not is_rapid_wrong(t)]
    return len(wrong) >= COMEBACK_WRONG and not any(is_rapid_wrong(t) for t in before)


def quest_segments(steps: list[str], size: int = 2) -> list[list[str]]:
    """The plan's steps cut into quests of ``size`` concepts, in plan order.

    >>> quest_segments(["a", "b", "c"])
    [['a', 'b'], ['c']]
    """
    return [steps[i : i + size] for i in range(0, len(steps), size)]

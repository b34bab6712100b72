"""The Planner's in-problem policy: from a diagnosis to a CLASS action. Pure.

One function, ``decide()``, maps (evaluation, intent, attempt counts, hint
level) to the action, the subproblem state, the MathDial move and the
student's next position. The table it implements is in ``docs/tutor.md``.

The escalation rule is the heart of it: a subproblem's solution (actions 2,
5 and 9) is released only after ``max_attempts`` failed answers or
``max_attempts`` help requests on that subproblem. Nothing in the student's
words reaches this rule except through the Diagnostician's evaluation and
intent, and every injection attempt reads as a plain solution request.

>>> from tutor.agents.diagnostician import Diagnosis
>>> d = decide(Diagnosis("f", "solution"), Position(help_requests=1), n_steps=2, max_attempts=3)
>>> d.action, d.state, d.position.help_requests
(8, 'x', 2)
>>> d = decide(Diagnosis("f", "solution"), Position(help_requests=3), n_steps=2, max_attempts=3)
>>> d.action, d.state, d.position.index
(9, 'y', 1)
"""

from __future__ import annotations

from dataclasses import dataclass

from tutor.agents.diagnostician import Diagnosis
from tutor.agents.problem import Position

MOVE_OF_ACTION = {
    1: "focus",
    2: "telling",
    3: "generic",
    4: "focus",
    5: "telling",
    6: "probing",
    7: "focus",
    8: "focus",
    9: "telling",
    10: "focus",
    11: "generic",
    12: "generic",
}


@dataclass(frozen=True)
class Decision:
    """What the tutor does this turn, and where the student is afterwards."""

    action: int
    state: str  # x, y or z
    position: Position  # after this turn
    hint_index: int | None = None  # which rung of the hint ladder to give, if any
    feedback: bool = False  # say the matched misconception's feedback
    releases: int | None = None  # the subproblem whose solution this turn states
    reason: str = ""  # for the record's thoughts

    @property
    def move(self) -> str:
        return MOVE_OF_ACTION[self.action]


def solution_released(at: Position, max_attempts: int) -> bool:
    """Whether the current subproblem's solution may be stated now."""
    return at.attempts >= max_attempts or at.help_requests >= max_attempts


def decide(diagnosis: Diagnosis, at: Position, *, n_steps: int, max_attempts: int = 3) -> Decision:
    """The action for ``diagnosis`` when the student is at ``at``."""
    if at.done:
        return Decision(12, "z", at, reason="the problem is already finished")
    evaluation, intent = diagnosis.evaluation, diagnosis.intent

    if evaluation == "b":
        return _finish_step(3, at, n_steps, reason="correct answer")
    if evaluation in ("a", "c"):
        attempts = at.attempts + 1
        if attempts >= max_attempts:
            action = 2 if evaluation == "a" else 5
            return _finish_step(action, at, n_steps, releases=at.index, reason=f"failed attempt {attempts}: release")
        action = 1 if evaluation == "a" else 4
        if evaluation == "a" and diagnosis.misconception is not None:
            after = at.but(attempts=attempts)
            return Decision(action, "x", after, feedback=True, reason=f"failed attempt {attempts}: misconception")
        return _hint(action, at.but(attempts=attempts), reason=f"failed attempt {attempts}")
    if evaluation == "f":
        if intent == "solution":
            if solution_released(at, max_attempts):
                return _finish_step(9, at, n_steps, releases=at.index, reason="solution request, released")
            after = at.but(help_requests=at.help_requests + 1)
            return _hint(8, after, reason=f"solution request {after.help_requests}: not released, hint instead")
        if intent == "hint":
            after = at.but(help_requests=at.help_requests + 1)
            return _hint(8, after, reason=f"hint request {after.help_requests}")
        if intent == "back":
            if at.index == 0:
                return Decision(11, "x", at, reason="asked to go back on the first subproblem")
            return Decision(10, "x", at.moved_to(at.index - 1), reason="went back one subproblem")
        return Decision(11, "x", at, reason="a question about the topic")
    if evaluation == "d":
        return Decision(6, "x", at, reason="unclear message")
    if evaluation == "e":
        return Decision(7, "x", at, reason="off-topic message")
    return Decision(12, "x", at, reason="greeting")


def _hint(action: int, at: Position, reason: str) -> Decision:
    """Give the next rung of the hint ladder (the verbaliser repeats the last one)."""
    return Decision(action, "x", at.but(hints_given=at.hints_given + 1), hint_index=at.hints_given, reason=reason)


def _finish_step(action: int, at: Position, n_steps: int, *, releases: int | None = None, reason: str) -> Decision:
    if at.index + 1 >= n_steps:
        return Decision(action, "z", Position(index=at.index, done=True), releases=releases, reason=reason)
    return Decision(action, "y", at.moved_to(at.index + 1), releases=releases, reason=reason)

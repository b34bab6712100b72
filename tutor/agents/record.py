"""The CLASS turn record: the labels every tutor message is stored with.

The codes follow CLASS (Sonkar et al., 2023); ``move`` follows MathDial
(Macina et al., 2023). ``docs/tutor.md`` explains how the pipeline picks each.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

EVALUATIONS = {
    "a": "incorrect",
    "b": "correct",
    "c": "partially correct",
    "d": "ambiguous or unclear",
    "e": "off-topic",
    "f": "student inquiry",
    "g": "N/A (greeting, first turn)",
}

ACTIONS = {
    1: "point out the mistake and hint",
    2: "give the solution after repeated failed attempts",
    3: "confirm and check completeness",
    4: "acknowledge the correct part, then hint",
    5: "give the solution after repeated partial attempts",
    6: "ask a clarifying question",
    7: "redirect to the topic",
    8: "hint on request",
    9: "give the solution on request",
    10: "go back to the previous subproblem",
    11: "answer another inquiry",
    12: "N/A",
}

STATES = {
    "w": "N/A",
    "x": "working on the current subproblem",
    "y": "subproblem done, move to the next",
    "z": "problem done",
}

MOVES = ("focus", "probing", "telling", "generic")
GUARD_OUTCOMES = ("passed", "rewritten", "blocked")

# The actions that state a subproblem's solution. The escalation policy is the
# only way to reach them.
SOLUTION_ACTIONS = frozenset({2, 5, 9})


@dataclass(frozen=True)
class TurnRecord:
    """One tutor turn, as stored in ``Message.record`` and shown to teachers."""

    evaluation: str
    action: int
    subproblem_state: str
    subproblem: str
    utterance: str
    thoughts: str = ""
    move: str = "generic"
    misconception: str | None = None
    guard: str = "passed"
    intent: str | None = None  # the Diagnostician's reading of an inquiry: hint, solution, back, ...
    backend: str = "scripted"  # which verbaliser spoke

    def __post_init__(self) -> None:
        if self.evaluation not in EVALUATIONS:
            raise ValueError(f"evaluation {self.evaluation!r} is not one of {sorted(EVALUATIONS)}")
        if self.action not in ACTIONS:
            raise ValueError(f"action {self.action!r} is not one of 1..12")
        if self.subproblem_state not in STATES:
            raise ValueError(f"subproblem_state {self.subproblem_state!r} is not one of w, x, y, z")
        if self.move not in MOVES:
            raise ValueError(f"move {self.move!r} is not one of {MOVES}")
        if self.guard not in GUARD_OUTCOMES:
            raise ValueError(f"guard {self.guard!r} is not one of {GUARD_OUTCOMES}")

    def as_dict(self) -> dict:
        return asdict(self)


# What a student's browser may see of a record. The rest (thoughts, the
# matched misconception) is for teachers: thoughts can mention the answer key.
STUDENT_VISIBLE_FIELDS = ("evaluation", "action", "subproblem_state", "move")

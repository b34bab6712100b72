"""What the pipeline knows about a problem: its steps and answer key. Pure data.

The answer key lives here, in the pipeline's inputs, and never in a language
model's prompt: the policy decides when a solution may be said, and the
verbaliser only ever receives a solution text the policy has released.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Step:
    """One subproblem, with its answer key."""

    prompt: str
    answer: dict  # typed answer spec, see tutor/dialogue/answers.py
    hints: tuple[str, ...] = ()
    solution: str = ""
    misconceptions: tuple[dict, ...] = ()  # {"id", "answer", "feedback"}


@dataclass(frozen=True)
class ProblemKey:
    """A scaffolded problem: statement, steps, and the whole problem's answer."""

    id: str
    statement: str
    steps: tuple[Step, ...]
    answer: dict | None = None  # the problem's final answer spec, if it has one
    solution: str = ""
    concepts: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"problem {self.id!r} has no subproblems")


@dataclass(frozen=True)
class Position:
    """Where the student is inside a problem.

    ``attempts`` counts failed answers (incorrect or partial) on the current
    subproblem, ``help_requests`` the hint and solution requests on it, and
    ``hints_given`` how far up the hint ladder the tutor has gone.
    """

    index: int = 0
    attempts: int = 0
    help_requests: int = 0
    hints_given: int = 0
    done: bool = False

    def moved_to(self, index: int) -> Position:
        """A fresh start on subproblem ``index``: all counters back to zero."""
        return Position(index=index)

    def but(self, **changes) -> Position:
        return replace(self, **changes)

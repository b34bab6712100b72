"""Evidence records and one learner's mastery state: plain data, serialisable to JSON.

The state is a handful of running counters per concept (weighted successes,
weighted failures, a recency average, the last outcome) plus the same
counters over all concepts. It is *sufficient*: the mastery model needs
nothing else, so the Django side stores ``to_dict()`` per learner and
curriculum version, and keeps the evidence log (``Evidence.to_dict``) as the
history. Replaying the log through a model rebuilds the state exactly, which
is how a state is recomputed after the model is refitted.

>>> s = LearnerState()
>>> s.concept("add").successes += 1.0
>>> LearnerState.from_dict(s.to_dict()) == s
True
>>> Evidence.from_dict(Evidence("add", False, kind="hint").to_dict())
Evidence(concept='add', correct=False, weight=1.0, kind='hint', inferred=False)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

EvidenceKind = Literal["item", "subproblem", "hint"]
STATE_VERSION = 1


@dataclass(frozen=True)
class Evidence:
    """One observation about one concept.

    ``kind``: ``"item"`` (an assessment item), ``"subproblem"`` (a step of a
    tutored problem, scaffolded so weaker evidence) or ``"hint"`` (the student
    asked for help: weak negative evidence whatever ``correct`` says).
    ``weight`` in (0, 1] scales it further. ``inferred`` marks evidence that
    graph propagation derived from evidence on a neighbouring concept.
    """

    concept: str
    correct: bool
    weight: float = 1.0
    kind: EvidenceKind = "item"
    inferred: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("item", "subproblem", "hint"):
            raise ValueError(f"unknown evidence kind {self.kind!r}")
        if not 0.0 < self.weight <= 1.0:
            raise ValueError(f"weight must be in (0, 1], got {self.weight}")

    @property
    def positive(self) -> bool:
        """Whether this is evidence *for* mastery: a correct answer that is not a hint."""
        return self.correct and self.kind != "hint"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Evidence:
        return cls(**d)


@dataclass
class Counters:
    """Weighted running statistics of a stream of outcomes (one concept's, or all of them)."""

    successes: float = 0.0
    failures: float = 0.0
    recent: float = 0.0  # exponentially weighted average of +1 (right) / -1 (wrong); 0 = no evidence
    last: float = 0.0  # the last outcome, +1 / -1, blended by weight; 0 = no evidence

    def add(self, correct: bool, weight: float, decay: float) -> None:
        """Count one outcome of ``weight``; ``weight`` 1 is a plain update, less moves everything less."""
        x = 1.0 if correct else -1.0
        if correct:
            self.successes += weight
        else:
            self.failures += weight
        self.recent += (1.0 - decay) * weight * (x - self.recent)
        self.last += weight * (x - self.last)

    def to_dict(self) -> dict[str, float]:
        """The four counters; by hand, as ``dataclasses.asdict`` deep-copies and this runs in every turn."""
        return {"successes": self.successes, "failures": self.failures, "recent": self.recent, "last": self.last}


@dataclass
class LearnerState:
    """One learner's counters: ``overall`` across concepts, ``concepts`` per concept id."""

    overall: Counters = field(default_factory=Counters)
    concepts: dict[str, Counters] = field(default_factory=dict)
    n_evidence: int = 0

    def concept(self, concept: str) -> Counters:
        """The counters of ``concept``, created empty on first use."""
        c = self.concepts.get(concept)
        if c is None:
            c = self.concepts[concept] = Counters()
        return c

    def to_dict(self) -> dict:
        return {
            "version": STATE_VERSION,
            "n_evidence": self.n_evidence,
            "overall": self.overall.to_dict(),
            "concepts": {k: c.to_dict() for k, c in self.concepts.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> LearnerState:
        if d.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported learner state version {d.get('version')!r}")
        return cls(
            overall=Counters(**d["overall"]),
            concepts={k: Counters(**c) for k, c in d["concepts"].items()},
            n_evidence=int(d["n_evidence"]),
        )

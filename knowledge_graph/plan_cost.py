"""What a concept costs a learner: the expected number of practice attempts to master it.

The planner minimises the total of these costs, so they must mean something a
teacher would recognise. One number per concept, in **expected practice
attempts**, the product of four factors (``docs/planner.md`` has the
justification and a worked example)::

    cost(v) = successes * remaining(m_v) / P(theta, b_v) * size(v) * load(v)

- ``P(theta, b_v) = c + (1 - c) * sigmoid(a * (theta - b_v))``: the IRT
  probability that this learner (ability ``theta``) answers a problem of the
  concept's difficulty ``b_v`` correctly. ``1 / P`` is the expected number of
  attempts per correct answer (a geometric distribution).
- ``successes``: correct answers that master a fresh concept. About seven
  practice opportunities per knowledge component at ~70% accuracy
  (Koedinger et al. 2023) is about five correct answers.
- ``remaining(m_v)``: how much of that is still to do, from the learner's
  mastery estimate: the log-odds gap to the mastery threshold ``tau`` over the
  gap of a fresh concept (65% initial accuracy, Koedinger et al. 2023),
  because learning curves are linear in log-odds per opportunity (AFM, PFA).
- ``size(v) = 1 + size_weight * ln(1 + problems + passage_weight * passages)``:
  broader concepts (more problems and passages) hold more to practise, with
  diminishing returns because many problems are variants of one skill.
- ``load(v) = 1 + load_weight * k``: ``k`` unmastered direct prerequisites
  (AND ones, plus one per unsatisfied any_of group) are still fresh when the
  concept is met, which adds to its intrinsic cognitive load (Sweller 1988).

The cost depends only on the learner's state, never on the plan, so the
planner's problem stays a node-weighted covering problem with an exact ILP.

>>> model = CostModel()
>>> round(model.success_probability(0.0), 3), round(model.remaining(None, 0.95), 3)
(0.5, 1.0)
>>> fresh = dict(difficulty=0.0, problems=0, passages=0, mastery=None, tau=0.95, unmastered_prerequisites=0)
>>> round(model.concept_cost(**fresh), 2)
10.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sized
from dataclasses import dataclass


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class CostModel:
    """The cost formula's parameters; no fitting: every default comes from the literature cited above.

    ``theta`` is the learner's IRT ability (``learners.Ability.theta``) and
    concept difficulties ``b`` are on the same logit scale (the curriculum
    format's ``difficulty``). The Django side builds one model per learner.
    """

    theta: float = 0.0
    discrimination: float = 1.0
    guessing: float = 0.0
    default_difficulty: float = 0.0
    successes: float = 5.0
    fresh_mastery: float = 0.65
    remaining_range: tuple[float, float] = (0.1, 3.0)
    min_success: float = 0.05
    size_weight: float = 0.25
    passage_weight: float = 0.5
    load_weight: float = 0.15

    def success_probability(self, difficulty: float | None) -> float:
        """P(correct | theta, b): the 3PL item response function, floored at ``min_success``.

        >>> round(CostModel(theta=1.0).success_probability(0.0), 3)
        0.731
        """
        b = self.default_difficulty if difficulty is None else float(difficulty)
        p = self.guessing + (1.0 - self.guessing) / (1.0 + math.exp(-self.discrimination * (self.theta - b)))
        return max(self.min_success, p)

    def remaining(self, mastery: float | None, tau: float) -> float:
        """The share of a fresh concept's practice still needed at mastery estimate ``mastery`` (None: fresh).

        >>> model = CostModel()
        >>> round(model.remaining(0.42, 0.95), 2), round(model.remaining(0.9, 0.95), 2)
        (1.41, 0.32)
        """
        if mastery is None:
            return 1.0
        low, high = self.remaining_range
        top = min(max(tau, 0.5 + 1e-6), 1 - 1e-6)
        p = min(max(float(mastery), 1e-3), top - 1e-6)
        fresh = min(self.fresh_mastery, top - 1e-3)
        return min(high, max(low, (_logit(top) - _logit(p)) / (_logit(top) - _logit(fresh))))

    def size(self, problems: int, passages: int) -> float:
        """1 for a concept with no material; grows with the log of its problems and passages."""
        return 1.0 + self.size_weight * math.log1p(problems + self.passage_weight * passages)

    def load(self, unmastered_prerequisites: int) -> float:
        """1 plus ``load_weight`` per direct prerequisite that is not yet mastered."""
        return 1.0 + self.load_weight * unmastered_prerequisites

    def concept_cost(
        self,
        *,
        difficulty: float | None,
        problems: int,
        passages: int,
        mastery: float | None,
        tau: float,
        unmastered_prerequisites: int,
    ) -> float:
        """Expected practice attempts to master one concept (the formula in the module docstring)."""
        attempts = self.successes * self.remaining(mastery, tau) / self.success_probability(difficulty)
        return attempts * self.size(problems, passages) * self.load(unmastered_prerequisites)

    def node_cost(self, attrs: Mapping, *, mastery: float | None, tau: float, unmastered_prerequisites: int) -> float:
        """``concept_cost`` reading ``difficulty``, ``problems`` and ``passages`` from a graph node's attributes.

        ``problems`` and ``passages`` may be counts or lists (their length is used); missing means 0.

        >>> round(CostModel().node_cost({"difficulty": 1.0, "problems": ["p1", "p2"]}, mastery=None, tau=0.95,
        ...                             unmastered_prerequisites=1), 2)
        27.25
        """
        return self.concept_cost(
            difficulty=attrs.get("difficulty"),
            problems=_count(attrs.get("problems")),
            passages=_count(attrs.get("passages")),
            mastery=mastery,
            tau=tau,
            unmastered_prerequisites=unmastered_prerequisites,
        )


def _count(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, Sized) and not isinstance(value, str):
        return len(value)
    return int(value)  # type: ignore[arg-type]

"""Which problem on the plan's current concept: the IRT target-success rule. Pure (no database).

The tutor wants the student to succeed most of the time but not trivially:
about 70% expected success keeps practice productive (the "desirable
difficulty" band of the learning-science literature, and the rule
``models.irt.cat.select_target_success`` implements: the hardest problem the
student still solves with probability >= p, else the one closest to it).

A problem's difficulty b is the hardest of its concepts' (``facts.py``) and
its discrimination 1 (there is no calibration of whole problems). Theta is
the student's IRT ability when they have answered scored items; otherwise
the ability that makes the 1PL prediction on the current concept equal the
mastery model's P(correct) there, ``b_k + logit(mastery_k)``: the same
scale, read from the evidence the tutoring itself gathered.

A problem the student already finished is never chosen while the concept has
an unsolved one; when every problem of the concept is solved, one is offered
again for review, and the reason says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.irt import ItemParams
from models.irt.cat import select_target_success
from tutor.planning.facts import CurriculumFacts, StudentFacts

TARGET_SUCCESS = 0.7


@dataclass(frozen=True)
class Pick:
    problem_id: int
    concept: str
    success: float  # predicted P(solving it), 1PL at ``theta``
    theta: float
    theta_source: str  # "irt" (item responses) or "mastery" (tutoring evidence on the concept)
    review: bool  # every problem on the concept was solved before: this one is for review


def effective_theta(concept: str, facts: CurriculumFacts, student: StudentFacts) -> tuple[float, str]:
    """The ability the choice uses, and where it came from (see the module docstring)."""
    if student.theta is not None:
        return float(student.theta), "irt"
    m = min(max(student.mastery.get(concept, 0.5), 0.01), 0.99)
    return (facts.difficulty.get(concept) or 0.0) + math.log(m / (1 - m)), "mastery"


def pick_problem(concept: str, facts: CurriculumFacts, student: StudentFacts, p: float = TARGET_SUCCESS) -> Pick | None:
    """The problem on ``concept`` closest to the target success rate, or None if the concept has no problems."""
    ids = facts.problems_by_concept.get(concept, ())
    if not ids:
        return None
    theta, source = effective_theta(concept, facts, student)
    default = facts.difficulty.get(concept) or 0.0
    b = np.array([facts.problem_difficulty(pid, default) for pid in ids], dtype=float)
    items = ItemParams(a=np.ones(len(ids)), b=b, c=np.zeros(len(ids)))
    solved = [i for i, pid in enumerate(ids) if facts.problem_keys[pid] in student.solved]
    at = select_target_success(theta, items, p, administered=solved)
    review = at is None
    if review:
        at = select_target_success(theta, items, p)
    return Pick(
        problem_id=ids[at],
        concept=concept,
        success=1.0 / (1.0 + math.exp(-(theta - b[at]))),
        theta=theta,
        theta_source=source,
        review=review,
    )

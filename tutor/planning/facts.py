"""What the planner reads about a curriculum version and a student, in plain dicts. Reads only.

Why a module of its own: the planner (``knowledge_graph.planner``) and the
next-problem choice need the same facts, and every one of them is either
immutable per curriculum version (names, sizes, which problems teach what) or
per calibration version (item difficulties), so they are computed once per
process and version and cached, like ``concept_graph``. Only the student's
mastery, ability and history are read per call (three small queries).

Difficulty is on the IRT logit scale, like theta. A concept's difficulty is
the mean b of its *calibrated* items when it has any (data beats the author's
guess), else the author's ``Concept.difficulty``, else the mean b of its
authored items, else unknown (None; the cost model's default applies). A
problem has no IRT parameters of its own: it is as hard as the hardest of its
concepts, since solving it needs all of them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np

from tutor.accounts.models import User
from tutor.curricula.models import Curriculum, Problem
from tutor.dialogue.models import TutorSession
from tutor.learners.actions import mastery_model, stored_state
from tutor.learners.calibration import CalibrationRef, item_bank, latest_calibration
from tutor.learners.models import Ability, LearnerModelState


@dataclass(frozen=True)
class CurriculumFacts:
    """A curriculum version's concepts and problems as the planner sees them."""

    names: dict[str, str]
    difficulty: dict[str, float | None]
    problems: dict[str, int]  # concept key -> number of problems that practise it
    passages: dict[str, int]  # concept key -> number of passages about it
    problem_titles: dict[int, str]
    problem_keys: dict[int, str]
    problem_concepts: dict[int, tuple[str, ...]]
    problems_by_concept: dict[str, tuple[int, ...]]  # in the curriculum's problem order

    def name(self, key: str) -> str:
        return self.names.get(key, key)

    def problem_difficulty(self, problem_id: int, default: float = 0.0) -> float:
        """The hardest known difficulty among the problem's concepts (``default`` when none is known)."""
        known = [d for k in self.problem_concepts.get(problem_id, ()) if (d := self.difficulty.get(k)) is not None]
        return max(known) if known else default


def curriculum_facts(curriculum: Curriculum) -> CurriculumFacts:
    """The cached facts of ``curriculum`` with the item calibration in force now."""
    calibration = latest_calibration(curriculum)
    cal = (calibration.pk, calibration.created_at) if calibration else (None, None)
    return _facts(curriculum.pk, curriculum.created_at, *cal)


@lru_cache(maxsize=64)
def _facts(curriculum_id: int, created_at: datetime, calibration_id: int | None, cal_created: datetime | None):
    curriculum = Curriculum.objects.get(pk=curriculum_id)
    rows = list(curriculum.concepts.values_list("key", "name", "difficulty"))
    names = {key: name for key, name, _ in rows}
    authored = {key: d for key, _, d in rows}

    bank = item_bank(curriculum, CalibrationRef(calibration_id, cal_created) if calibration_id else None)
    calibrated_b, authored_b = defaultdict(list), defaultdict(list)
    for i, keys in enumerate(bank.concepts):
        b = float(bank.params.b[i])
        if math.isnan(b):
            continue
        for key in keys:
            (calibrated_b if bank.source[i] == "calibrated" else authored_b)[key].append(b)
    difficulty: dict[str, float | None] = {}
    for key in names:
        if calibrated_b[key]:
            difficulty[key] = float(np.mean(calibrated_b[key]))
        elif authored[key] is not None:
            difficulty[key] = float(authored[key])
        elif authored_b[key]:
            difficulty[key] = float(np.mean(authored_b[key]))
        else:
            difficulty[key] = None

    problems = list(curriculum.problems.order_by("position", "pk").values_list("pk", "key", "title"))
    through = Problem.concepts.through.objects.filter(problem__curriculum=curriculum)
    concepts_of: dict[int, list[str]] = defaultdict(list)
    for problem_id, key in through.order_by("concept__key").values_list("problem_id", "concept__key"):
        concepts_of[problem_id].append(key)
    by_concept: dict[str, list[int]] = defaultdict(list)
    for pk, _, _ in problems:
        for key in concepts_of[pk]:
            by_concept[key].append(pk)
    passages = defaultdict(int)
    for key in curriculum.passages.values_list("concepts__key", flat=True):
        if key is not None:
            passages[key] += 1
    return CurriculumFacts(
        names=names,
        difficulty=difficulty,
        problems={key: len(by_concept.get(key, ())) for key in names},
        passages={key: passages.get(key, 0) for key in names},
        problem_titles={pk: title for pk, _, title in problems},
        problem_keys={pk: key for pk, key, _ in problems},
        problem_concepts={pk: tuple(concepts_of[pk]) for pk, _, _ in problems},
        problems_by_concept={key: tuple(ids) for key, ids in by_concept.items()},
    )


@dataclass(frozen=True)
class StudentFacts:
    """One student's state on one curriculum version: mastery of every concept, theta, what they solved."""

    mastery: dict[str, float]
    theta: float | None  # None: no scored item response yet, so IRT knows nothing about this student
    theta_se: float | None
    solved: frozenset[str]  # problem keys with a finished session, in any version of the curriculum


def student_facts(student: User, curriculum: Curriculum, concepts) -> StudentFacts:
    row = LearnerModelState.objects.filter(student=student, curriculum=curriculum).first()
    state, model = stored_state(row), mastery_model()
    ability = (
        Ability.objects.filter(student=student, curriculum=curriculum, n_responses__gt=0)
        .values_list("theta", "se")
        .first()
    )
    solved = TutorSession.objects.filter(
        student=student, problem__curriculum__slug=curriculum.slug, status=TutorSession.Status.DONE
    ).values_list("problem__key", flat=True)
    return StudentFacts(
        mastery={key: model.mastery(state, key) for key in concepts},
        theta=ability[0] if ability else None,
        theta_se=ability[1] if ability else None,
        solved=frozenset(solved),
    )

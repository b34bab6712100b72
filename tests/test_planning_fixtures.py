"""Fixtures shared by the planning tests (no tests here): a small arithmetic curriculum built for planning.

The graph, prerequisites first (difficulty in logits)::

    count (-2) ─┬─> add (-1) ──────────┬─> mul (0) ─> div (0.5) ─> ratio (1)
                ├─> sub (-0.5)  ┐      │
                └─> skip (-1.5) ┴ any_of [sub, skip] of mul

Problems on ``add`` span its difficulty and harder ones (a problem is as hard
as its hardest concept), so the target-success choice has something to
choose from: add-1 (b -1), add-mul (b 0), add-div (b 0.5), add-ratio (b 1).
Every concept has at least one problem; each problem has two subproblems
whose answers are 1 and 2.

alice and bob are in tess's class with this curriculum too; mallory is in
trent's class, which uses it as well.
"""

from __future__ import annotations

import pytest

CONCEPTS = [
    ("count", "Counting", -2.0, [], []),
    ("add", "Addition", -1.0, ["count"], []),
    ("sub", "Subtraction", -0.5, ["count"], []),
    ("skip", "Skip counting", -1.5, ["count"], []),
    ("mul", "Multiplication", 0.0, ["add"], [["sub", "skip"]]),
    ("div", "Division", 0.5, ["mul"], []),
    ("ratio", "Ratios", 1.0, ["div"], []),
]
PROBLEMS = [
    ("count-1", ["count"]),
    ("add-1", ["add"]),
    ("add-mul", ["add", "mul"]),
    ("add-div", ["add", "div"]),
    ("add-ratio", ["add", "ratio"]),
    ("sub-1", ["sub"]),
    ("skip-1", ["skip"]),
    ("mul-1", ["mul"]),
    ("div-1", ["div"]),
    ("ratio-1", ["ratio"]),
]


def arithmetic_package(slug: str = "arith") -> dict:
    concepts = []
    for key, name, difficulty, prerequisites, any_of in CONCEPTS:
        concept = {"id": key, "name": name, "difficulty": difficulty}
        if prerequisites:
            concept["prerequisites"] = prerequisites
        if any_of:
            concept["any_of"] = any_of
        concepts.append(concept)
    problems = [
        {
            "id": key,
            "title": f"Problem {key}",
            "statement": f"Practise {', '.join(keys)}.",
            "concepts": keys,
            "answer": {"kind": "number", "value": "2"},
            "solution": "1, then 2.",
            "subproblems": [
                {
                    "question": "First step?",
                    "answer": {"kind": "number", "value": "1"},
                    "hints": ["One."],
                    "solution": "1",
                },
                {
                    "question": "Second step?",
                    "answer": {"kind": "number", "value": "2"},
                    "hints": ["Two."],
                    "solution": "2",
                },
            ],
        }
        for key, keys in PROBLEMS
    ]
    return {
        "format": "tutorgraph-curriculum/1",
        "id": slug,
        "title": "Arithmetic to ratios",
        "language": "en",
        "license": "CC0-1.0",
        "concepts": concepts,
        "problems": problems,
    }


@pytest.fixture(name="arith")
def arith_fixture(db, tess_class, trent_class):
    """The arithmetic curriculum, used by tess's and trent's classes."""
    from tutor.curricula.importer import curriculum_import

    curriculum = curriculum_import(arithmetic_package()).curriculum
    tess_class.curricula.add(curriculum)
    trent_class.curricula.add(curriculum)
    return curriculum


def master(student, curriculum, *concepts: str, times: int = 40) -> None:
    """Enough correct item evidence on ``concepts`` to push their mastery above the planner's threshold."""
    from models.mastery import Evidence
    from tutor.learners.actions import learner_evidence_record

    for _ in range(times):
        learner_evidence_record(
            student=student, curriculum=curriculum, evidence=[Evidence(c, True, kind="item") for c in concepts]
        )


def ability(student, curriculum, theta: float) -> None:
    """Give the student a stored IRT ability, as if they had answered scored items."""
    from tutor.learners.models import Ability

    Ability.objects.update_or_create(
        student=student, curriculum=curriculum, defaults={"theta": theta, "se": 0.3, "n_responses": 10}
    )


def finish(student, problem):
    """A finished session of ``student`` on ``problem`` (status done), as if they solved it."""
    from django.utils import timezone

    from tutor.dialogue.models import TutorSession

    return TutorSession.objects.create(
        student=student, problem=problem, status=TutorSession.Status.DONE, finished_at=timezone.now()
    )

"""Curriculum import: atomic, versioned, and errors name the exact place."""

import copy
import json

import pytest

from tests.conftest import DEMO_DIR
from tutor.curricula.importer import CurriculumError, curriculum_import
from tutor.curricula.models import Curriculum, Problem, Subproblem

DOC = json.loads((DEMO_DIR / "fractions.json").read_text())


def test_demo_curriculum_imports_with_its_problems_and_subproblems(db):
    curriculum = curriculum_import(DOC)
    assert curriculum.problems.count() == len(DOC["problems"])
    first = curriculum.problems.get(slug="three-quarters-plus-one-eighth")
    assert [s.answer for s in first.subproblems.all()] == ["8", "6", "7/8"]
    assert first.subproblems.first().misconceptions[0]["id"] == "product-of-denominators"


def test_every_shipped_demo_curriculum_is_valid(db):
    for path in sorted(DEMO_DIR.glob("*.json")):
        assert curriculum_import(json.loads(path.read_text())).problems.exists(), path.name


def _broken(mutate):
    doc = copy.deepcopy(DOC)
    mutate(doc)
    return doc


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.pop("title"), "title: is required"),
        (lambda d: d.update(slug="Not A Slug"), "slug:"),
        (lambda d: d["problems"][1].pop("statement"), "problems[1].statement: is required"),
        (
            lambda d: d["problems"][0]["subproblems"][2]["answer"].update(kind="essay"),
            "problems[0].subproblems[2].answer.kind",
        ),
        (
            lambda d: d["problems"][0]["subproblems"][0]["answer"].update(value="eight"),
            "problems[0].subproblems[0].answer.value",
        ),
        (lambda d: d["problems"][2]["subproblems"][1].update(hints=[]), "problems[2].subproblems[1].hints"),
        (lambda d: d["problems"][1].update(slug=d["problems"][0]["slug"]), "problems[1].slug"),
        (
            lambda d: d["problems"][0]["subproblems"][0]["misconceptions"][1].pop("feedback"),
            "misconceptions[1].feedback",
        ),
    ],
)
def test_invalid_package_is_refused_with_its_path_and_nothing_is_written(db, mutate, path):
    with pytest.raises(CurriculumError) as excinfo:
        curriculum_import(_broken(mutate))
    assert path in str(excinfo.value)
    assert Curriculum.objects.count() == Problem.objects.count() == Subproblem.objects.count() == 0


def test_reimporting_the_same_version_is_refused(db):
    curriculum_import(DOC)
    with pytest.raises(CurriculumError, match="already imported; bump the version"):
        curriculum_import(DOC)
    assert Curriculum.objects.count() == 1


def test_a_new_version_is_imported_beside_the_old(db):
    curriculum_import(DOC)
    curriculum_import(_broken(lambda d: d.update(version=2)))
    assert list(Curriculum.objects.values_list("version", flat=True).order_by("version")) == [1, 2]

"""The demo curricula that `make run` loads: valid, real-sized, loaded once."""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.conftest import DEMO_DIR
from tutor.curricula.models import Curriculum
from tutor.curricula.package import read_package
from tutor.curricula.validation import validate_package
from tutor.dialogue.answers import check, matching_misconception


def demo(name: str) -> dict:
    path = DEMO_DIR / name
    return read_package(path.read_bytes(), path.name)


@pytest.mark.parametrize("name", ["fractions.yaml", "cell-biology.yaml"])
def test_demo_curriculum_is_valid(name):
    report = validate_package(demo(name))
    assert report.issues == []


def test_fractions_demo_is_a_full_progression():
    doc = demo("fractions.yaml")
    assert len(doc["concepts"]) >= 15 and len(doc["problems"]) >= 30
    assert sum(len(c.get("any_of", [])) for c in doc["concepts"]) >= 2  # the planner gets real choices
    subproblems = [s for p in doc["problems"] for s in p["subproblems"]]
    feedback = " ".join(m["feedback"] for s in subproblems for m in s.get("misconceptions", []))
    assert "numerator" in feedback and "denominator" in feedback


def test_cell_biology_demo_has_text_answers():
    doc = demo("cell-biology.yaml")
    assert len(doc["concepts"]) >= 10 and len(doc["problems"]) >= 15
    kinds = [s["answer"]["kind"] for p in doc["problems"] for s in p["subproblems"]]
    assert kinds.count("text") >= 15


@pytest.mark.parametrize("name", ["fractions.yaml", "cell-biology.yaml"])
def test_every_model_answer_is_accepted_and_no_misconception_is_correct(name):
    for problem in demo(name)["problems"]:
        for sub in problem["subproblems"]:
            spec = sub["answer"]
            model = spec.get("value", (spec.get("references") or [""])[0])
            assert check(spec, str(model)), (problem["id"], model)
            assert matching_misconception(spec, str(model), sub.get("misconceptions", [])) is None, problem["id"]


def test_load_demo_is_idempotent(db):
    call_command("load_demo", stdout=StringIO())
    first = set(Curriculum.objects.values_list("slug", "version"))
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert set(Curriculum.objects.values_list("slug", "version")) == first
    assert "Imported" not in out.getvalue() and "alice" in out.getvalue()
    assert {slug for slug, _ in first} == {"fractions", "cell-biology"}

"""Curriculum import: validated in full, atomic, versioned."""

import copy
import json

import pytest

from tests.conftest import TEST_DATA
from tutor.accounts.models import Classroom
from tutor.curricula.importer import CurriculumInvalid, curriculum_import
from tutor.curricula.models import (
    Concept,
    Curriculum,
    CurriculumUpload,
    Item,
    Passage,
    Prerequisite,
    Problem,
    Subproblem,
)
from tutor.curricula.validation import validate_package
from tutor.dialogue.actions import session_start

DOC = json.loads((TEST_DATA / "mini-fractions.json").read_text())
TABLES = [Curriculum, Concept, Prerequisite, Passage, Problem, Subproblem, Item, CurriculumUpload]


def table_counts() -> dict[str, int]:
    counts = {model.__name__: model.objects.count() for model in TABLES}
    for model, field in [(Passage, "concepts"), (Problem, "concepts"), (Item, "concepts")]:
        counts[f"{model.__name__}.{field}"] = getattr(model, field).through.objects.count()
    return counts


def broken(mutate) -> dict:
    doc = copy.deepcopy(DOC)
    mutate(doc)
    return doc


def test_package_imports_concepts_prerequisites_problems_passages_and_items(db):
    curriculum = curriculum_import(DOC).curriculum
    assert curriculum.version == 1 and curriculum.license == "CC-BY-4.0"
    assert set(curriculum.concepts.values_list("key", flat=True)) == {"frac.equivalent", "frac.lcd", "frac.add-unlike"}
    add = curriculum.concepts.get(key="frac.add-unlike")
    links = {(p.requires.key, p.group) for p in add.prerequisite_links.all()}
    assert links == {("frac.equivalent", None), ("frac.lcd", 0)}  # one AND, one any_of group
    problem = curriculum.problems.get(key="three-quarters-plus-one-eighth")
    assert [s.answer["value"] for s in problem.subproblems.all()] == ["8", "6", "7/8"]
    assert list(problem.concepts.values_list("key", flat=True)) == ["frac.add-unlike"]
    assert curriculum.passages.get().concepts.get().key == "frac.add-unlike"
    item = curriculum.items.get()
    assert (item.irt_a, item.irt_b, item.irt_c) == (1.0, 0.0, 0.0)


def test_validation_reports_every_problem_with_its_place(db):
    def many_faults(d):
        d["concepts"].append({"id": "frac.lcd", "name": "again"})
        d["concepts"][0]["prerequisites"] = ["frac.add-unlike"]  # closes a cycle
        d["problems"][0]["concepts"] = ["frac.nope"]
        d["problems"][0]["subproblems"][0]["hints"] = []
        d["problems"][1]["subproblems"][0]["answer"] = {"kind": "expression", "value": "x**"}
        d["problems"][2]["subproblems"][1]["answer"] = {"kind": "essay", "value": "x"}
        d["problems"][2]["title"] = 7
        d["items"][0]["answer"] = {"kind": "choice", "value": "e", "choices": ["a", "b"]}
        d["problems"][0]["subproblems"][2]["misconceptions"][0]["answer"] = "14/16"  # equals 7/8

    report = validate_package(broken(many_faults))
    found = {(issue.code, issue.path) for issue in report.issues}
    assert ("duplicate_id", "concepts[3].id") in found
    assert ("unknown_concept", "problems[0].concepts[0]") in found
    assert ("empty_hints", "problems[0].subproblems[0].hints") in found
    assert ("invalid_answer", "problems[1].subproblems[0].answer.value") in found
    assert ("invalid_kind", "problems[2].subproblems[1].answer.kind") in found
    assert ("type", "problems[2].title") in found
    assert ("invalid_answer", "items[0].answer.value") in found
    assert ("misconception_is_correct", "problems[0].subproblems[2].misconceptions[0].answer") in found
    cycles = [i.message for i in report.issues if i.code == "cycle"]
    assert any("frac.equivalent" in m and "frac.add-unlike" in m and m.startswith("cycle: ") for m in cycles)


def test_failed_import_leaves_every_table_as_it_was(db):
    curriculum_import(DOC)
    before = table_counts()
    with pytest.raises(CurriculumInvalid):
        curriculum_import(broken(lambda d: d["problems"][2]["subproblems"][0]["answer"].update(value="eight")))
    assert table_counts() == before


def test_an_error_in_the_last_problem_still_writes_nothing(db):
    before = table_counts()
    with pytest.raises(CurriculumInvalid) as excinfo:
        curriculum_import(broken(lambda d: d["problems"][-1]["subproblems"][-1].update(hints=[])))
    assert "problems[2].subproblems[1].hints" in str(excinfo.value)
    assert table_counts() == before


def test_reimporting_an_id_creates_the_next_version(db):
    first = curriculum_import(DOC).curriculum
    second = curriculum_import(broken(lambda d: d.update(title="Fractions, revised"))).curriculum
    assert (first.version, second.version) == (1, 2) and second.slug == first.slug
    assert Concept.objects.filter(key="frac.lcd").count() == 2  # each version has its own concepts


def test_classes_move_to_the_new_version_but_running_sessions_keep_theirs(alice, demo_problem, tess_class):
    session = session_start(student=alice, problem=demo_problem)
    old = demo_problem.curriculum
    new = curriculum_import(DOC).curriculum
    assert list(tess_class.curricula.all()) == [new]
    session.refresh_from_db()
    assert session.problem.curriculum == old
    assert Classroom.objects.filter(curricula=old).count() == 0


def test_break_cycles_drops_the_back_edges_and_reports_them(db):
    cyclic = broken(lambda d: d["concepts"][0].update(prerequisites=["frac.add-unlike"]))
    with pytest.raises(CurriculumInvalid, match="cycle: "):
        curriculum_import(cyclic)
    result = curriculum_import(cyclic, break_cycles=True)
    assert result.report.dropped_edges
    u, v = result.report.dropped_edges[0]
    assert not Prerequisite.objects.filter(requires__key=u, concept__key=v).exists()


def test_dry_run_validates_and_writes_nothing(db):
    result = curriculum_import(DOC, dry_run=True)
    assert result.curriculum is None and result.report.summary["problems"] == 3
    assert Curriculum.objects.count() == 0

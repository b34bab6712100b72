"""The OATutor importer: OATutor content pool + skill model -> curriculum package v1.

The fixtures under tests/data/oatutor/ are small original problems written in
OATutor's on-disk layout: ``good/`` converts cleanly, ``bad/`` has four
different mistakes that must all be reported together.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tutor.curricula.formats.oatutor import MAX_JSON_BYTES, OATutorFormatError, read_oatutor
from tutor.dialogue.answers import check, spec_error

DATA = Path(__file__).resolve().parent / "data" / "oatutor"
GOOD, BAD = DATA / "good", DATA / "bad"
SCHEMA = Path(__file__).resolve().parent.parent / "tutor" / "curricula" / "schema" / "curriculum-v1.schema.json"


@pytest.fixture(scope="module")
def package() -> dict:
    return read_oatutor(GOOD)


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    """A writable copy of the good content source, to break in one place."""
    return Path(shutil.copytree(GOOD, tmp_path / "oatutor-copy"))


def problem(pkg: dict, pid: str) -> dict:
    return next(p for p in pkg["problems"] if p["id"] == pid)


def errors_of(source: Path, **kwargs) -> list[str]:
    with pytest.raises(OATutorFormatError) as caught:
        read_oatutor(source, **kwargs)
    return caught.value.errors


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))


# --------------------------------------------------------------------- the package


def test_converted_package_validates_against_the_v1_schema(package):
    errors = sorted(Draft202012Validator(json.loads(SCHEMA.read_text())).iter_errors(package), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_converted_package_passes_the_full_curriculum_validation(package):
    from tutor.curricula.validation import validate_package

    assert [str(issue) for issue in validate_package(package).issues] == []


def test_every_converted_answer_is_checkable_by_the_tutor(package):
    for prob in package["problems"]:
        for spec in [prob["answer"], *(s["answer"] for s in prob["subproblems"])]:
            assert spec_error(spec) is None, (prob["id"], spec)


def test_package_id_title_license_and_attribution_come_from_the_folder_and_oer_fields(package):
    assert package["format"] == "tutorgraph-curriculum/1"
    assert package["id"] == "good"
    assert package["title"] == "Tutorgraph Fixture Maths"
    assert package["license"] == "CC-BY-4.0"
    assert "Tutorgraph test fixtures (https://tutorgraph.org/test-fixtures)" in package["attribution"]
    assert "Hints and scaffolds from Tutorgraph fixture hints" in package["attribution"]


def test_id_and_title_arguments_override_the_defaults():
    pkg = read_oatutor(GOOD, curriculum_id="OATutor Algebra!", title="Algebra from OATutor")
    assert pkg["id"] == "oatutor-algebra"
    assert pkg["title"] == "Algebra from OATutor"


def test_problems_come_in_folder_order_and_underscore_folders_are_ignored(package):
    assert [p["id"] for p in package["problems"]] == ["alg1", "frac1", "shape1"]


# --------------------------------------------------------------------- skills


def test_skills_become_concepts_without_prerequisites(package):
    by_id = {c["id"]: c for c in package["concepts"]}
    for skill in ("least_common_denominator", "adding_fractions", "quadrilaterals", "combining_like_terms"):
        assert by_id[skill] == {"id": skill, "name": skill}
    assert all("prerequisites" not in c and "any_of" not in c for c in package["concepts"])


def test_problem_concepts_are_the_union_of_its_steps_skills(package):
    assert problem(package, "frac1")["concepts"] == ["least_common_denominator", "adding_fractions"]


def test_a_step_without_skills_falls_back_to_a_concept_named_after_course_and_lesson(package):
    fallback = "Tutorgraph Fixture Maths — 4.2 Quadrilaterals"
    concept = next(c for c in package["concepts"] if c["name"] == fallback)
    assert concept["id"] == "Tutorgraph-Fixture-Maths-4.2-Quadrilaterals"
    assert problem(package, "shape1")["concepts"] == ["quadrilaterals", concept["id"]]


def test_skill_names_that_are_not_ids_are_slugified_uniquely(pool):
    url = "https://docs.example.org/document/d/" + "k" * 60 + "/edit"
    write_json(pool / "skillModel.json", {"frac1a": [url], "frac1b": ["adding fractions", "adding/fractions"]})
    pkg = read_oatutor(pool)
    concepts = {c["name"]: c["id"] for c in pkg["concepts"]}
    assert len(concepts[url]) <= 80 and concepts[url].startswith("https-docs.example.org-document-d-kkk")
    assert concepts["adding fractions"] == "adding-fractions"
    assert concepts["adding/fractions"] != "adding-fractions"  # same slug, so disambiguated
    Draft202012Validator(json.loads(SCHEMA.read_text())).validate(pkg)


def test_without_a_skill_model_every_step_uses_its_lesson_concept(pool):
    (pool / "skillModel.json").unlink()
    pkg = read_oatutor(pool)
    assert [c["name"] for c in pkg["concepts"]] == [
        "Tutorgraph Fixture Maths — 5.1 Combining Like Terms",
        "Tutorgraph Fixture Maths — 2.1 Adding Fractions",
        "Tutorgraph Fixture Maths — 4.2 Quadrilaterals",
    ]


def test_the_pool_folder_itself_finds_the_skill_model_beside_it(pool):
    pkg = read_oatutor(pool / "content-pool")
    assert pkg["id"] == "oatutor-copy"  # named after the content source, not "content-pool"
    assert problem(pkg, "frac1")["concepts"] == ["least_common_denominator", "adding_fractions"]


def test_an_explicit_skill_model_path_wins(pool, tmp_path):
    other = tmp_path / "elsewhere" / "skills.json"
    write_json(other, {"frac1a": ["lcd"]})
    pkg = read_oatutor(pool, skill_model=other, ignore_unknown_skill_steps=True)
    assert problem(pkg, "frac1")["concepts"] == ["lcd", "Tutorgraph-Fixture-Maths-2.1-Adding-Fractions"]


def test_skill_model_entries_for_unknown_steps_can_be_ignored(pool):
    model = json.loads((pool / "skillModel.json").read_text()) | {"gone7a": ["old_skill"]}
    write_json(pool / "skillModel.json", model)
    assert errors_of(pool) == ["skillModel.json: gone7a: names no step in the content pool"]
    pkg = read_oatutor(pool, ignore_unknown_skill_steps=True)
    assert "old_skill" not in {c["name"] for c in pkg["concepts"]}


def test_a_skill_model_keyed_by_problem_id_is_reported(pool):
    write_json(pool / "skillModel.json", {"frac1": ["adding_fractions"]})
    assert errors_of(pool) == [
        "skillModel.json: frac1: is a problem id; the skill model tags steps (e.g. its 'a' step)"
    ]


# --------------------------------------------------------------------- problems and answers


def test_statement_is_title_plus_body_with_double_dollar_maths_made_single(package):
    assert problem(package, "frac1")["statement"] == (
        "Sharing a Pizza\n\nSam eats $\\frac{1}{2}$ of a pizza and Lee eats $\\frac{1}{3}$ of the same pizza."
    )


def test_question_is_step_title_plus_step_body(package):
    first = problem(package, "frac1")["subproblems"][0]
    assert first["question"] == (
        "Common denominator\n\nWhat is the least common denominator of $\\frac{1}{2}$ and $\\frac{1}{3}$?"
    )


def test_arithmetic_answers_that_are_numbers_or_fractions_become_numbers(package):
    lcd, total = problem(package, "frac1")["subproblems"]
    assert lcd["answer"] == {"kind": "number", "value": "6"}
    assert total["answer"] == {"kind": "number", "value": "5/6"}  # from $$\frac{5}{6}$$
    assert check(total["answer"], "5/6") and check(total["answer"], "I think 10/12")


def test_other_arithmetic_answers_become_sympy_expressions(package):
    simplify = problem(package, "alg1")["subproblems"][0]
    assert simplify["answer"] == {"kind": "expression", "value": "x**2 + 5*x", "variables": ["x"]}
    assert check(simplify["answer"], "5x + x^2")


@pytest.mark.parametrize(
    ("oatutor", "expected"),
    [
        ("$$-\\frac{3}{4}$$", {"kind": "number", "value": "-3/4"}),
        ("\\frac34", {"kind": "number", "value": "3/4"}),
        ("$$1{,}250$$", {"kind": "number", "value": "1250"}),
        ("$$12.5\\%$$", {"kind": "number", "value": "12.5%"}),
        ("$$x=-2$$", {"kind": "number", "value": "-2"}),
        ("$$\\sqrt{2}$$", {"kind": "expression", "value": "sqrt(2)"}),
        ("$$2\\pi r$$", {"kind": "expression", "value": "2*pi*r", "variables": ["r"]}),
        ("$$\\frac{x+1}{2}$$", {"kind": "expression", "value": "x/2 + 1/2", "variables": ["x"]}),
        ("$$\\left(x+1\\right)\\cdot 3$$", {"kind": "expression", "value": "3*x + 3", "variables": ["x"]}),
        ("$$y=2x+3$$", {"kind": "expression", "value": "2*x + 3", "variables": ["x"]}),
        ("$$(-\\infty, 3]$$", {"kind": "text", "references": ["(-\\infty, 3]"]}),
        ("$$9^{9^{9}}$$", {"kind": "text", "references": ["9^{9^{9}}"]}),
        ("$$2^{100000}$$", {"kind": "text", "references": ["2^{100000}"]}),
        ("__import__('os')", {"kind": "text", "references": ["__import__('os')"]}),
    ],
)
def test_arithmetic_answer_conversion(pool, oatutor, expected):
    step = pool / "content-pool/frac1/steps/frac1b/frac1b.json"
    write_json(step, json.loads(step.read_text()) | {"stepAnswer": [oatutor]})
    spec = problem(read_oatutor(pool), "frac1")["subproblems"][1]["answer"]
    assert spec == expected
    assert spec_error(spec) is None


def test_string_text_box_answers_become_text_with_every_answer_as_reference(pool):
    step = pool / "content-pool/shape1/steps/shape1b/shape1b.json"
    write_json(step, json.loads(step.read_text()) | {"stepAnswer": ["four", "$$4$$"]})
    spec = problem(read_oatutor(pool), "shape1")["subproblems"][1]["answer"]
    assert spec == {"kind": "text", "references": ["four", "4"]}


def test_multiple_choice_becomes_choice_with_the_first_answer(package):
    spec = problem(package, "shape1")["subproblems"][0]["answer"]
    assert spec == {"kind": "choice", "choices": ["Rhombus", "Square", "Trapezoid", "Kite"], "value": "Square"}
    assert check(spec, "b") and check(spec, "square")


def test_numeric_answers_keep_their_precision_as_a_tolerance(package):
    spec = problem(package, "alg1")["subproblems"][1]["answer"]
    assert spec == {"kind": "number", "value": "2.75", "tolerance": 0.005}
    assert check(spec, "2.754") and not check(spec, "2.76")


def test_units_are_added_to_the_question(package):
    assert problem(package, "alg1")["subproblems"][1]["question"].endswith("(Give the answer in units of area.)")


def test_variables_take_their_first_option_and_figures_become_notes(package):
    alg = problem(package, "alg1")
    assert alg["statement"] == "Like Terms\n\nAda is tidying the expression $3x + 2x + x^2$.\n[figure: terms.png]"
    assert alg["subproblems"][0]["hints"][1].startswith("Ada adds")
    assert alg["subproblems"][1]["hints"] == ["Substitute 0.5 for $x$: $0.25+2.5$."]  # a hint's own variable


def test_problem_answer_is_the_last_steps_and_solution_joins_the_steps(package):
    frac = problem(package, "frac1")
    assert frac["answer"] == frac["subproblems"][-1]["answer"]
    assert [s["solution"] for s in frac["subproblems"]] == ["The answer is 6.", "The answer is $\\frac{5}{6}$."]
    assert frac["solution"] == "The answer is 6. The answer is $\\frac{5}{6}$."
    assert all(s["misconceptions"] == [] for p in [frac] for s in p["subproblems"])


# --------------------------------------------------------------------- hints


def test_hint_ladder_keeps_pathway_order_and_flattens_a_scaffold(package):
    assert problem(package, "frac1")["subproblems"][0]["hints"] == [
        "List the first few multiples of 2 and of 3.",
        "Try this first: What is the smallest number that is in both lists?",
        "Multiples of 2: 2, 4, 6, 8. Multiples of 3: 3, 6, 9.",  # the scaffold's sub-hint
        "The answer to that is 6.",
        "The least common denominator is 6.",
    ]


def test_multiple_choice_scaffold_lists_its_choices_and_solution_items_are_hints(package):
    assert problem(package, "shape1")["subproblems"][0]["hints"][1:3] == [
        "Try this first: How many right angles does a square have? Choices: 2; 4.",
        "The answer to that is 4.",
    ]
    assert problem(package, "frac1")["subproblems"][1]["hints"][-1].startswith("Add the numerators")


def test_literal_backslash_n_in_text_is_a_line_break(package):
    assert problem(package, "shape1")["subproblems"][1]["hints"] == [
        "Fold along both diagonals,\nthen through the midpoints of opposite sides."
    ]


def test_missing_hints_can_be_replaced_by_a_reread_hint(pool):
    shutil.rmtree(pool / "content-pool/frac1/steps/frac1b/tutoring")
    write_json(pool / "content-pool/alg1/steps/alg1b/tutoring/alg1bDefaultPathway.json", [])
    assert errors_of(pool) == [
        "content-pool/alg1/steps/alg1b/tutoring/alg1bDefaultPathway.json: has no hints: every step needs at least"
        " one hint (allow_missing_hints=True gives it a 'Re-read the question' hint instead)",
        "content-pool/frac1/steps/frac1b/tutoring/frac1bDefaultPathway.json: missing: every step needs at least"
        " one hint (allow_missing_hints=True gives it a 'Re-read the question' hint instead)",
    ]
    pkg = read_oatutor(pool, allow_missing_hints=True)
    assert problem(pkg, "frac1")["subproblems"][1]["hints"] == ["Re-read the question: Total eaten"]
    assert problem(pkg, "alg1")["subproblems"][1]["hints"] == ["Re-read the question: Evaluate"]


def test_another_pathway_can_be_chosen(pool):
    for tutoring in (pool / "content-pool").glob("*/steps/*/tutoring"):
        step = tutoring.parent.name
        write_json(tutoring / f"{step}ShortPathway.json", [{"type": "hint", "text": f"Short hint for {step}."}])
    pkg = read_oatutor(pool, pathway="ShortPathway")
    assert problem(pkg, "frac1")["subproblems"][0]["hints"] == ["Short hint for frac1a."]


# --------------------------------------------------------------------- errors


def test_bad_inputs_are_all_reported_at_once_with_file_and_json_paths():
    with pytest.raises(OATutorFormatError) as caught:
        read_oatutor(BAD)
    assert caught.value.errors == [
        "content-pool/broken1/broken1.json: invalid JSON at line 3, column 23: Expecting ',' delimiter",
        "content-pool/noanswer1/steps/noanswer1a/noanswer1a.json: stepAnswer: missing",
        "content-pool/nohint1/steps/nohint1a/tutoring/nohint1aDefaultPathway.json: missing: every step needs at"
        " least one hint (allow_missing_hints=True gives it a 'Re-read the question' hint instead)",
        "skillModel.json: ghost9a: names no step in the content pool",
    ]
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith("4 problems in the OATutor content:\n  content-pool/broken1/")


def test_field_errors_name_the_json_path_inside_the_file(pool):
    cp = pool / "content-pool"
    step = cp / "shape1/steps/shape1a/shape1a.json"
    write_json(step, json.loads(step.read_text()) | {"stepAnswer": ["Circle"], "precision": -1})
    hints = cp / "frac1/steps/frac1a/tutoring/frac1aDefaultPathway.json"
    ladder = json.loads(hints.read_text())
    del ladder[1]["hintAnswer"]
    ladder[1]["subHints"][0]["type"] = "video"
    write_json(hints, ladder)
    numeric = cp / "alg1/steps/alg1b/alg1b.json"
    write_json(numeric, json.loads(numeric.read_text()) | {"stepAnswer": ["about three"], "problemType": "TextBox"})
    problem_file = cp / "alg1/alg1.json"
    write_json(problem_file, json.loads(problem_file.read_text()) | {"title": 7})
    assert errors_of(pool) == [
        "content-pool/alg1/alg1.json: title: must be a string, not number",
        "content-pool/alg1/steps/alg1b/alg1b.json: stepAnswer[0]: 'about three' is not a number"
        " (answerType 'numeric' compares numbers)",
        "content-pool/frac1/steps/frac1a/tutoring/frac1aDefaultPathway.json: [1].hintAnswer: missing",
        "content-pool/frac1/steps/frac1a/tutoring/frac1aDefaultPathway.json: [1].subHints[0].type:"
        " 'video' is not a hint type; expected hint, scaffold or solution",
        "content-pool/shape1/steps/shape1a/shape1a.json: precision: must be a whole number of decimal places",
        "content-pool/shape1/steps/shape1a/shape1a.json: stepAnswer[0]: 'Circle' is not one of the choices",
    ]


def test_unsupported_problem_types_and_duplicate_ids_are_reported(pool):
    cp = pool / "content-pool"
    step = cp / "alg1/steps/alg1a/alg1a.json"
    write_json(step, json.loads(step.read_text()) | {"problemType": "DragAndDrop"})
    clone = cp / "frac2"
    shutil.copytree(cp / "frac1", clone)
    (clone / "frac1.json").rename(clone / "frac2.json")
    assert errors_of(pool) == [
        "content-pool/alg1/steps/alg1a/alg1a.json: problemType: 'DragAndDrop' is not supported;"
        " expected one of TextBox, MultipleChoice, GridInput",
        "content-pool/frac2/frac2.json: id: 'frac1' is also the id of content-pool/frac1/frac1.json",
        "content-pool/frac2/steps/frac1a/frac1a.json: id: 'frac1a' is also the id of"
        " content-pool/frac1/steps/frac1a/frac1a.json",
        "content-pool/frac2/steps/frac1b/frac1b.json: id: 'frac1b' is also the id of"
        " content-pool/frac1/steps/frac1b/frac1b.json",
    ]


def test_a_problem_folder_without_its_json_or_steps_is_reported(pool):
    (pool / "content-pool/empty1").mkdir()
    assert errors_of(pool) == [
        "content-pool/empty1/empty1.json: missing: the problem folder empty1/ needs empty1.json",
        "content-pool/empty1/steps: no steps: an OATutor problem needs at least one steps/<stepId>/ folder",
    ]


def test_a_folder_with_no_problems_is_refused(tmp_path):
    (tmp_path / "content-pool").mkdir()
    assert errors_of(tmp_path) == ["content-pool: no problems found (expected <problemId>/<problemId>.json folders)"]
    assert errors_of(tmp_path / "missing") == [f"{tmp_path / 'missing'}: not a directory"]


# --------------------------------------------------------------------- safety


def test_symlinks_leading_outside_the_source_are_not_followed(pool, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(pool / "content-pool/frac1", outside / "frac9")
    secret = outside / "secret.json"
    write_json(secret, {"id": "alg1a", "stepAnswer": ["42"]})
    (pool / "content-pool/frac9").symlink_to(outside / "frac9", target_is_directory=True)
    step = pool / "content-pool/alg1/steps/alg1a/alg1a.json"
    step.unlink()
    step.symlink_to(secret)
    assert errors_of(pool) == [  # in the order they are met: the pool is listed before steps are read
        "content-pool/frac9: is a symbolic link leading outside the source; not followed",
        "content-pool/alg1/steps/alg1a/alg1a.json: is a symbolic link leading outside the source; not read",
    ]


def test_symlinks_inside_the_source_are_followed(pool):
    shutil.move(pool / "content-pool/frac1", pool / "frac1-real")
    (pool / "content-pool/frac1").symlink_to(pool / "frac1-real", target_is_directory=True)
    assert problem(read_oatutor(pool), "frac1")["answer"] == {"kind": "number", "value": "5/6"}


def test_json_files_over_the_size_cap_are_refused_before_parsing(pool):
    big = pool / "content-pool/frac1/frac1.json"
    big.write_text(" " * MAX_JSON_BYTES + json.dumps({"id": "frac1", "title": "Too big"}))
    assert errors_of(pool) == [
        f"content-pool/frac1/frac1.json: is {big.stat().st_size:,} bytes, over the 5 MB limit for one JSON file;"
        " not read"
    ]
    small = errors_of(pool, max_file_bytes=300)
    # The cap applies to every file: the skill model and most fixture files are over 300 bytes.
    assert small[0] == "skillModel.json: is 323 bytes, over the 300 byte limit for one JSON file; not read"
    assert f"content-pool/frac1/frac1.json: is {big.stat().st_size:,} bytes, over the 300 byte limit" in "\n".join(
        small
    )


def test_non_utf8_json_is_reported(pool):
    (pool / "content-pool/frac1/frac1.json").write_bytes(b'{"id": "frac1", "title": "Caf\xe9"}')
    assert errors_of(pool) == ["content-pool/frac1/frac1.json: is not UTF-8 text (byte 29 is invalid)"]

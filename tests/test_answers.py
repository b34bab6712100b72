"""The answer checker against typed answer specs (pure, no database)."""

from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from models.embeddings import get_embedder
from tutor.dialogue.answers import (
    EmbeddingSimilarity,
    Mention,
    check,
    default_similarity,
    grade,
    has_answer,
    matching_misconception,
    number_mentions,
    parse_expression,
    parse_number,
    spec_error,
)


def number(value, **extra):
    return {"kind": "number", "value": value, **extra}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7/8", Fraction(7, 8)),
        ("0.875", Fraction(7, 8)),
        ("87.5%", Fraction(7, 8)),
        ("1 3/4", Fraction(7, 4)),
        ("-1 1/2", Fraction(-3, 2)),
        ("I think it's 7/8.", Fraction(7, 8)),
        ("3/4 is 6/8 so 6/8 + 1/8 = 7/8", Fraction(7, 8)),
        (".5", Fraction(1, 2)),
        ("1,000", Fraction(1000)),
        ("x = 8", Fraction(8)),
        ("eight", Fraction(8)),
        ("I think it's seven eighths", Fraction(7, 8)),
        ("one and three quarters", Fraction(7, 4)),
        ("\\frac{7}{8}", Fraction(7, 8)),
        ("\\dfrac{14}{16}", Fraction(7, 8)),
        ("2\\tfrac{1}{4}", Fraction(9, 4)),
        ("87.5 percent", Fraction(7, 8)),
        ("1¾", Fraction(7, 4)),
        ("⅞", Fraction(7, 8)),
    ],
)
def test_parse_number_reads_the_last_number_in_any_common_form(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "no idea", "1/0", "the second step", "which one?", "CO2"])
def test_parse_number_returns_none_when_there_is_no_number(text):
    assert parse_number(text) is None


def test_equivalent_forms_of_a_number_answer_are_correct():
    for text in ["7/8", "14/16", "0.875", "87.5%", "it is 7/8"]:
        assert check(number("7/8"), text), text


def test_a_different_number_is_wrong():
    assert not check(number("7/8"), "4/12")
    assert not check(number(8), "8.5")


def test_tolerance_accepts_close_numbers_only():
    assert check(number("3.14159", tolerance=0.01), "3.14")
    assert not check(number("3.14159", tolerance=0.01), "3.1")


def test_mixed_number_answer_matches_improper_fraction():
    assert check(number("1 9/10"), "19/10")
    assert not check(number("1 9/10"), "9/10")


@pytest.mark.parametrize("text", ["2x/3", "(2/3)x", "y = 2*x/3", "I think it is 2x/3", "x*2/3."])
def test_equivalent_expressions_are_correct(text):
    assert check({"kind": "expression", "value": "2*x/3"}, text)


@pytest.mark.parametrize("text", ["3x/2", "2x + 3", "x = 3", "two thirds of x"])
def test_different_expressions_are_wrong(text):
    assert not check({"kind": "expression", "value": "2*x/3"}, text)


def test_factored_and_expanded_forms_are_the_same_expression():
    assert check({"kind": "expression", "value": "x**2 - 1"}, "(x-1)(x+1)")
    assert check({"kind": "expression", "value": "x^2 + 2x + 1"}, "(x + 1)^2")


@pytest.mark.parametrize(
    "text", ["__import__('os').system('true')", "x.__class__", "(lambda: 1)()", "open('f')", "x" * 300]
)
def test_expression_parser_refuses_anything_but_arithmetic(text):
    assert parse_expression(text) is None


def test_choice_answers_match_option_text_or_letter():
    spec = {"kind": "choice", "value": "division", "choices": ["addition", "subtraction", "multiplication", "division"]}
    assert check(spec, "Division")
    assert check(spec, "d")
    assert not check(spec, "b")
    assert not check(spec, "divide it")


def test_text_answers_need_their_keywords():
    spec = {"kind": "text", "references": ["Mitochondria release energy as ATP."], "keywords": ["mitochondria"]}
    assert check(spec, "It's the mitochondria")
    assert not check(spec, "the nucleus")


def test_text_answers_without_keywords_need_most_reference_words():
    spec = {"kind": "text", "references": ["water moves across the membrane by osmosis"]}
    assert check(spec, "Osmosis moves water across the membrane")
    assert not check(spec, "water moves")


def test_misconception_is_matched_by_value():
    miscs = [{"id": "sum", "answer": "4/12", "feedback": "f"}]
    assert matching_misconception(number("7/8"), "I got 1/3", miscs)["id"] == "sum"
    assert matching_misconception(number("7/8"), "7/8", miscs) is None


def test_has_answer_needs_something_checkable():
    assert not has_answer(number(8), "I don't know")
    assert has_answer(number(8), "maybe 8?")
    assert has_answer({"kind": "text", "references": ["r"]}, "because they share a factor")


def test_spec_error_names_answers_that_cannot_be_checked():
    assert "not a number" in spec_error(number("eight"))
    assert "sympy" in spec_error({"kind": "expression", "value": "x**"})
    assert "not one of the choices" in spec_error({"kind": "choice", "value": "e", "choices": ["a", "b"]})
    assert spec_error(number("1 3/4")) is None


def test_spec_error_wants_authored_numbers_in_digits():
    assert "digits" in spec_error(number("seven eighths"))
    assert spec_error(number("7/8")) is None


# ---- number mentions ------------------------------------------------------


def test_number_mentions_reads_every_form_with_its_position():
    text = "3/4 is 6/8, so 1 3/4 or 87.5% or .875 or \\frac{7}{8} or seven eighths or ⅞"
    found = number_mentions(text)
    assert [m.raw for m in found] == ["3/4", "6/8", "1 3/4", "87.5%", ".875", "\\frac{7}{8}", "seven eighths", "⅞"]
    assert [m.form for m in found] == [
        "fraction",
        "fraction",
        "mixed",
        "percent",
        "decimal",
        "latex",
        "words",
        "unicode",
    ]
    assert all(text[m.start : m.end] == m.raw for m in found)
    assert found[2] == Mention(15, 20, Fraction(7, 4), "1 3/4", "mixed")


def test_number_mentions_keeps_the_raw_text_of_look_alike_characters():
    (mention,) = number_mentions("7⁄8")  # U+2044 FRACTION SLASH
    assert mention.raw == "7⁄8" and mention.value == Fraction(7, 8)


def test_digits_inside_chemical_formulas_are_not_numbers():
    assert number_mentions("CO2 and H2O") == []


def test_subtraction_is_not_a_negative_number():
    assert [m.value for m in number_mentions("8-1")] == [8, 1]
    assert [m.value for m in number_mentions("x = -1/2")] == [Fraction(-1, 2)]


# ---- grade: numbers -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "7/8",
        "14/16",
        "0.875",
        ".875",
        "87.5%",
        "87.5 percent",
        "\\frac{7}{8}",
        "⅞",
        "seven eighths",
        "I think it's seven eighths of the pizza",
    ],
)
def test_grade_number_accepts_every_form_of_the_value(text):
    verdict = grade(number("7/8"), text)
    assert verdict.found and verdict.correct and not verdict.partial and verdict.score == 1.0


@pytest.mark.parametrize("text", ["1 3/4", "7/4", "1.75", "175%", "one and three quarters", "1¾"])
def test_grade_number_accepts_a_mixed_number_in_any_form(text):
    assert grade(number("1 3/4"), text).correct


def test_grade_number_uses_the_last_number_in_working():
    assert grade(number("7/8"), "3/4 is 6/8 so 6/8 + 1/8 = 7/8").correct
    assert not grade(number("7/8"), "7/8 minus 1/8 is 6/8").correct


def test_grade_number_tolerance():
    spec = number("3.14159", tolerance=0.01)
    assert grade(spec, "about 3.14").correct
    assert not grade(spec, "3.1").correct


def test_grade_number_finds_the_misconception_by_value():
    miscs = [{"id": "count-remaining", "answer": 7, "feedback": "f"}, {"id": "sum", "answer": "4/12", "feedback": "f"}]
    verdict = grade(number("7/8"), "it's seven", miscs)
    assert verdict.found and not verdict.correct and not verdict.partial
    assert verdict.misconception["id"] == "count-remaining"
    assert grade(number("7/8"), "1/3", miscs).misconception["id"] == "sum"
    assert grade(number("7/8"), "5", miscs).misconception is None


def test_grade_number_without_a_number_is_not_found():
    verdict = grade(number("7/8"), "no idea")
    assert not verdict.found and not verdict.correct


def test_grade_detail_never_contains_the_expected_answer():
    for text in ["7/8", "0.875", "seven eighths", "4/12", "no idea"]:
        detail = grade(number("7/8"), text).detail
        assert not any(form in detail for form in ["7/8", "0.875", "seven eighths"]), (text, detail)
    spec = {"kind": "text", "references": ["thymine"], "keywords": ["thymine"]}
    for text in ["thymine", "uracil", "I like football"]:
        assert "thymine" not in grade(spec, text).detail
    choice = {"kind": "choice", "value": "osmosis", "choices": ["osmosis", "diffusion"]}
    for text in ["a", "b", "osmosis"]:
        assert "osmosis" not in grade(choice, text).detail


def test_grade_detail_quotes_what_the_student_said():
    assert "4/12" in grade(number("7/8"), "I got 4/12").detail


# ---- grade: expressions ---------------------------------------------------


def test_grade_expression_by_equivalence_and_misconception():
    spec = {"kind": "expression", "value": "2*x/3", "variables": ["x"]}
    miscs = [{"id": "flipped", "answer": "3*x/2", "feedback": "f"}]
    assert grade(spec, "I think it is (2/3)x", miscs).correct
    flipped = grade(spec, "x*3/2", miscs)
    assert flipped.found and not flipped.correct and flipped.misconception["id"] == "flipped"
    other = grade(spec, "2x + 3", miscs)
    assert other.found and not other.correct and other.misconception is None
    assert not grade(spec, "no idea", miscs).found


# ---- grade: choices -------------------------------------------------------

OSMOSIS = {"kind": "choice", "value": "osmosis", "choices": ["diffusion", "osmosis", "active transport"]}


@pytest.mark.parametrize("text", ["osmosis", "Osmosis.", "b", "(b)", "I think it's osmosis", "OSMOSIS, because water"])
def test_grade_choice_by_text_letter_or_one_option_in_a_sentence(text):
    assert grade(OSMOSIS, text).correct


def test_grade_choice_other_option_is_found_and_wrong():
    miscs = [{"id": "just-diffusion", "answer": "diffusion", "feedback": "f"}]
    verdict = grade(OSMOSIS, "it must be diffusion", miscs)
    assert verdict.found and not verdict.correct and verdict.misconception["id"] == "just-diffusion"
    assert not grade(OSMOSIS, "c").correct and grade(OSMOSIS, "c").found


def test_grade_choice_naming_several_options_is_ambiguous():
    verdict = grade(OSMOSIS, "either osmosis or diffusion")
    assert not verdict.found and not verdict.correct


def test_grade_choice_prefers_the_longer_option_it_names():
    spec = {"kind": "choice", "value": "cell wall", "choices": ["wall", "cell wall", "membrane"]}
    assert grade(spec, "the cell wall").correct
    assert not grade(spec, "a wall").correct


# ---- grade: text ----------------------------------------------------------

CELL = {"kind": "text", "references": ["cells"], "keywords": ["cell"]}
MEMBRANE = [{"id": "membrane", "answer": "the cell membrane", "feedback": "f"}]
CO2_WATER = {"kind": "text", "references": ["carbon dioxide and water"], "keywords": ["carbon dioxide", "water"]}


def test_grade_text_keywords_make_it_correct():
    assert grade(CELL, "they are all made of cells").correct


def test_grade_text_some_keywords_is_partial():
    verdict = grade(CO2_WATER, "carbon dioxide")
    assert verdict.found and not verdict.correct and verdict.partial


def test_grade_text_misconception_beats_keyword():
    verdict = grade(CELL, "the cell membrane", MEMBRANE)
    assert not verdict.correct and not verdict.partial and verdict.misconception["id"] == "membrane"
    assert check(CELL, "the cell membrane")  # without the misconception the keyword alone decides


def test_grade_text_unrelated_answer_is_neither_correct_nor_partial():
    for text in ["I like football", "what is for lunch"]:
        verdict = grade(CO2_WATER, text, [{"id": "go", "answer": "glucose and oxygen", "feedback": "f"}])
        assert verdict.found and not verdict.correct and not verdict.partial and verdict.misconception is None


def test_grade_text_without_words_is_not_found():
    assert not grade(CELL, "  ?! ").found


def test_grade_text_uses_the_given_similarity():
    spec = {"kind": "text", "references": ["energy from ATP"]}
    close = grade(spec, "fuel", similarity=lambda text, candidates: [0.85] * len(candidates))
    middle = grade(spec, "fuel", similarity=lambda text, candidates: [0.65] * len(candidates))
    far = grade(spec, "fuel", similarity=lambda text, candidates: [0.1] * len(candidates))
    assert close.correct and close.score == 0.85
    assert middle.partial and not middle.correct
    assert not far.correct and not far.partial


# ---- the real embedding model ---------------------------------------------


@pytest.fixture(scope="module")
def embedding():
    """Embedding similarity over the process's shared MiniLM, so the test run loads the weights once."""
    return EmbeddingSimilarity(get_embedder())


def test_default_similarity_is_one_shared_lazy_instance():
    assert default_similarity() is default_similarity()
    assert isinstance(default_similarity(), EmbeddingSimilarity)


def test_embedding_similarity_ranks_meaning_and_caches_candidates(embedding):
    scores = embedding("the power station of the cell", ["mitochondria", "a bicycle"])
    assert scores[0] > scores[1]
    assert "mitochondria" in embedding._cache and "a bicycle" in embedding._cache
    assert embedding("the power station of the cell", ["mitochondria", "a bicycle"]) == pytest.approx(scores, abs=1e-5)


def test_embedding_similarity_cache_is_bounded():
    similarity = EmbeddingSimilarity(get_embedder(), cache_size=2)
    similarity("x", ["one", "two", "three"])
    assert list(similarity._cache) == ["two", "three"]


def test_embedding_grade_paraphrase_and_opposite(embedding):
    spec = {"kind": "text", "references": ["ATP", "ATP made in respiration"], "keywords": ["atp"]}
    miscs = [{"id": "sugar", "answer": "glucose", "feedback": "f"}]
    assert grade(spec, "it uses ATP from respiration", miscs, embedding).correct
    assert grade(spec, "I think it is glucose", miscs, embedding).misconception["id"] == "sugar"
    uptake = {"kind": "text", "references": ["against the gradient, from lower to higher concentration"]}
    with_gradient = [{"id": "with-gradient", "answer": "with the gradient", "feedback": "f"}]
    assert grade(uptake, "with the concentration gradient", with_gradient, embedding).misconception is not None


CELL_BIOLOGY = Path(__file__).resolve().parent.parent / "tutor" / "curricula" / "demo" / "cell-biology.yaml"
UNRELATED = ["I like football", "what is for lunch", "my dog ate my homework"]


def _text_subproblems():
    doc = yaml.safe_load(CELL_BIOLOGY.read_text())
    return [
        (f"{p['id']}[{i}]", sub)
        for p in doc["problems"]
        for i, sub in enumerate(p["subproblems"])
        if sub["answer"]["kind"] == "text"
    ]


@pytest.mark.parametrize("measure", ["lexical", "embedding"])
def test_every_cell_biology_text_subproblem_grades_as_authored(measure, embedding):
    similarity = embedding if measure == "embedding" else None
    subproblems = _text_subproblems()
    assert len(subproblems) >= 30
    for where, sub in subproblems:
        spec, miscs = sub["answer"], sub.get("misconceptions", [])
        for text in [*spec["references"], sub["solution"]]:
            assert grade(spec, text, miscs, similarity).correct, (where, text)
        for m in miscs:
            verdict = grade(spec, str(m["answer"]), miscs, similarity)
            assert not verdict.correct and verdict.misconception["id"] == m["id"], (where, m["answer"])
        for text in UNRELATED:
            verdict = grade(spec, text, miscs, similarity)
            assert not verdict.correct and not verdict.partial and verdict.misconception is None, (where, text)

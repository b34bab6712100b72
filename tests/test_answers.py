"""The answer checker against typed answer specs (pure, no database)."""

from fractions import Fraction

import pytest

from tutor.dialogue.answers import check, has_answer, matching_misconception, parse_expression, parse_number, spec_error


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
    ],
)
def test_parse_number_reads_the_last_number_in_any_common_form(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["eight", "", "no idea", "1/0"])
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

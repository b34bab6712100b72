"""The scripted tutor's answer checker (pure, no database)."""

from fractions import Fraction

import pytest

from tutor.dialogue.answers import has_answer, is_correct, matching_misconception, parse_number


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
        assert is_correct("number", "7/8", text), text


def test_a_different_number_is_wrong():
    assert not is_correct("number", "7/8", "4/12")
    assert not is_correct("number", "8", "8.5")


def test_tolerance_accepts_close_numbers_only():
    assert is_correct("number", "3.14159", "3.14", tolerance=0.01)
    assert not is_correct("number", "3.14159", "3.1", tolerance=0.01)


def test_mixed_number_answer_matches_improper_fraction():
    assert is_correct("number", "1 9/10", "19/10")
    assert not is_correct("number", "1 9/10", "9/10")


def test_choice_answers_match_option_text_or_letter():
    options = ["addition", "subtraction", "multiplication", "division"]
    assert is_correct("choice", "division", "Division", choices=options)
    assert is_correct("choice", "division", "d", choices=options)
    assert not is_correct("choice", "division", "b", choices=options)
    assert not is_correct("choice", "division", "divide it", choices=options)


def test_misconception_is_matched_by_value():
    miscs = [{"id": "sum", "answer": "4/12", "feedback": "f"}]
    assert matching_misconception("number", "I got 1/3", miscs)["id"] == "sum"
    assert matching_misconception("number", "7/8", miscs) is None


def test_has_answer_needs_a_number_for_number_questions():
    assert not has_answer("number", "I don't know")
    assert has_answer("number", "maybe 8?")
    assert has_answer("text", "because they share a factor")

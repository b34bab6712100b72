"""English number words read as exact fractions (pure, no database)."""

from fractions import Fraction

import pytest

from tutor.dialogue.numwords import word_mentions


def values(text):
    return [value for _, _, value in word_mentions(text)]


def phrases(text):
    return [text[start:end] for start, end, _ in word_mentions(text)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("zero", 0),
        ("twelve", 12),
        ("nineteen", 19),
        ("forty", 40),
        ("twenty-four", 24),
        ("twenty four", 24),
        ("a hundred", 100),
        ("one hundred and five", 105),
        ("three hundred twelve", 312),
        ("nine hundred and ninety-nine", 999),
    ],
)
def test_cardinals_up_to_999(text, value):
    assert values(text) == [Fraction(value)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a half", Fraction(1, 2)),
        ("one half", Fraction(1, 2)),
        ("two thirds", Fraction(2, 3)),
        ("three quarters", Fraction(3, 4)),
        ("three-quarters", Fraction(3, 4)),
        ("three fourths", Fraction(3, 4)),
        ("seven eighths", Fraction(7, 8)),
        ("five twelfths", Fraction(5, 12)),
        ("one tenth", Fraction(1, 10)),
        ("three hundredths", Fraction(3, 100)),
        ("five twenty-fourths", Fraction(5, 24)),
        ("an eighth", Fraction(1, 8)),
        ("5 sixths", Fraction(5, 6)),
        ("seven over eight", Fraction(7, 8)),
    ],
)
def test_fraction_words(text, value):
    assert values(text) == [value]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("one and three quarters", Fraction(7, 4)),
        ("two and a half", Fraction(5, 2)),
        ("2 and a half", Fraction(5, 2)),
        ("one hundred and three quarters", Fraction(403, 4)),
    ],
)
def test_mixed_numbers(text, value):
    assert values(text) == [value]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("zero point five", Fraction(1, 2)),
        ("two point two five", Fraction(9, 4)),
        ("nought point oh five", Fraction(1, 20)),
        ("fifty percent", Fraction(1, 2)),
        ("twelve and a half per cent", Fraction(1, 8)),
        ("eighty-seven point five percent", Fraction(7, 8)),
    ],
)
def test_decimals_and_percentages(text, value):
    assert values(text) == [value]


def test_seven_eighths_is_one_mention_not_seven_then_an_eighth():
    assert word_mentions("I think it's seven eighths.") == [(13, 26, Fraction(7, 8))]


def test_several_numbers_in_a_sentence_are_found_in_order():
    text = "Two of the eight slices make one quarter, and twenty seconds later three more."
    assert phrases(text) == ["Two", "eight", "one quarter", "twenty", "three"]
    assert values(text) == [2, 8, Fraction(1, 4), 20, 3]


def test_words_are_read_in_any_case():
    assert values("SEVEN Eighths") == [Fraction(7, 8)]


@pytest.mark.parametrize(
    "text", ["the second tick mark", "the first step", "the third time", "a third time", "in the fourth row"]
)
def test_ordinals_alone_are_not_numbers(text):
    assert word_mentions(text) == []


def test_seconds_are_never_a_denominator():
    assert values("twenty seconds") == [20]
    assert values("three seconds") == [3]


def test_one_as_a_pronoun_is_not_a_number():
    assert word_mentions("Which one is bigger, this one or the other one?") == []
    assert values("one of the slices") == [1]


def test_digits_alone_are_left_to_the_caller():
    assert word_mentions("12 and 7/8") == []


def test_words_split_by_punctuation_are_separate_numbers():
    assert values("seven. Eighths are small") == [7]


def test_a_word_cut_off_mid_way_is_not_the_whole_number():
    assert values("seven eigh") == [7]

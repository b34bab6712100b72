"""English number words: "seven eighths", "one and three quarters", "zero point five". Pure Python.

Students type answers the way they would say them, and a language model
tutor writes numbers in words as readily as in digits. Both the answer
checker and the leak guard need "seven eighths" to be the same number as
"7/8", so this module finds every number phrase in a text and gives its
exact value as a ``Fraction``.

What counts as a number phrase:

- cardinals from zero to 999: "twelve", "twenty-four", "one hundred and five";
- fractions, a numerator and a denominator word: "a half", "two thirds",
  "three quarters" (or "fourths"), "five twelfths", "three hundredths",
  "5 sixths", and "seven over eight";
- mixed numbers: "one and three quarters", "two and a half";
- decimals read aloud: "zero point five", "two point two five";
- percentages: "fifty percent", "twelve and a half per cent".

Ordinals alone are not numbers: "the second tick mark" and "the third step"
name positions, not values. "second" is never a denominator, because "twenty
seconds" is a time. "one" after a determiner ("this one", "which one") is a
pronoun, not a number. Phrases made only of digits ("12") are left to the
caller, which reads digits with its own, richer patterns; digits take part
here only next to number words ("5 sixths", "2 and a half").

>>> [(start, end, str(value)) for start, end, value in word_mentions("Seven eighths, not one eighth")]
[(0, 13, '7/8'), (19, 29, '1/8')]
>>> word_mentions("one and three quarters")[0][2]
Fraction(7, 4)
>>> word_mentions("the second tick mark")
[]
"""

from __future__ import annotations

import re
from fractions import Fraction

UNITS = {
    "zero": 0,
    "nought": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
DIGIT_WORDS = {**{w: v for w, v in UNITS.items() if v < 10}, "oh": 0}  # after "point": "zero point oh five"

# Ordinals that name a denominator. "first" and "second" are left out on
# purpose: "one first" is not English and "seconds" are a unit of time.
_ORDINAL_UNITS = {
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
}
_ORDINAL_OTHERS = {
    "half": 2,
    "halve": 2,
    "quarter": 4,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
    "fortieth": 40,
    "fiftieth": 50,
    "sixtieth": 60,
    "seventieth": 70,
    "eightieth": 80,
    "ninetieth": 90,
    "hundredth": 100,
    "thousandth": 1000,
}


def _with_plurals(words: dict[str, int]) -> dict[str, int]:
    out = dict(words)
    for word, value in words.items():
        out[word + "s"] = value
    out["halves"] = 2
    return out


DENOMINATORS = _with_plurals({**_ORDINAL_UNITS, **_ORDINAL_OTHERS})
_UNIT_ORDINALS = _with_plurals(_ORDINAL_UNITS)  # the "fourths" of "twenty-fourths"

# A lone "one" after these words is a pronoun: "this one", "the right one".
_PRONOUN_BEFORE = {
    "a",
    "an",
    "the",
    "this",
    "that",
    "which",
    "each",
    "every",
    "any",
    "no",
    "some",
    "another",
    "other",
    "last",
    "next",
    "only",
    "same",
    "right",
    "wrong",
    "correct",
    "first",
    "second",
    "third",
    "big",
    "bigger",
    "biggest",
    "small",
    "smaller",
    "smallest",
    "new",
    "old",
}
# "a third time" is an ordinal after all: an article and a denominator word
# before these nouns do not make a fraction.
_ORDINAL_NOUNS = {"time", "times", "try", "attempt", "go", "step", "question", "round"}

_TOKEN = re.compile(r"[A-Za-z]+|(?<![\d.,/])\d+(?![\d.,/]|[A-Za-z])")
_JOIN = re.compile(r"\s*-?\s*")  # what may stand between two words of one phrase
_VOCABULARY = (
    set(UNITS) | set(TENS) | set(DENOMINATORS) | {"hundred", "point", "over", "a", "an", "percent", "per", "oh"}
)
# The words a number phrase can start with ("a half" starts with "a", but "a" alone states nothing).
NUMBER_WORDS = frozenset(_VOCABULARY)


class _Tokens:
    """The words of a text, with their positions and whether each follows the previous one directly."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words: list[str] = []
        self.spans: list[tuple[int, int]] = []
        for m in _TOKEN.finditer(text):
            self.words.append(m.group().lower())
            self.spans.append(m.span())

    def __len__(self) -> int:
        return len(self.words)

    def word(self, i: int) -> str | None:
        return self.words[i] if 0 <= i < len(self.words) else None

    def joined(self, i: int) -> bool:
        """Whether word ``i`` continues the phrase of word ``i - 1`` (only spaces or a hyphen between them)."""
        if i <= 0 or i >= len(self.words):
            return False
        return _JOIN.fullmatch(self.text, self.spans[i - 1][1], self.spans[i][0]) is not None

    def next_is(self, i: int, *words: str) -> bool:
        return self.joined(i) and self.words[i] in words


# Each parser takes the token index where a phrase would start and returns
# (index after the phrase, value), or None. Parsers are greedy: they take the
# longest phrase they can.
_Parse = tuple[int, Fraction] | None


def _below_hundred(t: _Tokens, i: int) -> _Parse:
    word = t.word(i)
    if word is None:
        return None
    if word.isdigit():
        return i + 1, Fraction(int(word))
    if word in UNITS:
        return i + 1, Fraction(UNITS[word])
    if word in TENS:
        unit = t.word(i + 1)
        if t.joined(i + 1) and unit in UNITS and 0 < UNITS[unit] < 10:
            return i + 2, Fraction(TENS[word] + UNITS[unit])
        return i + 1, Fraction(TENS[word])
    return None


def _cardinal(t: _Tokens, i: int) -> _Parse:
    """0..999 in words: "seven", "twenty-four", "a hundred", "three hundred and five"."""
    word = t.word(i)
    if word in ("a", "an") and t.next_is(i + 1, "hundred"):
        head: _Parse = (i + 1, Fraction(1))
    else:
        head = _below_hundred(t, i)
    if head is None:
        return None
    j, value = head
    if not (t.next_is(j, "hundred") and 1 <= value <= 9 and not t.word(i).isdigit()):
        return head
    j, value = j + 1, value * 100
    k = j + 1 if t.next_is(j, "and") else j
    if t.joined(k) and t.word(k) and not t.word(k).isdigit():
        rest = _below_hundred(t, k)
        # "one hundred and three quarters" is 100 + 3/4, not 103 quarters:
        # leave a numerator to the fraction that follows it.
        if rest is not None and not _denominator(t, rest[0]):
            return rest[0], value + rest[1]
    return j, value


def _denominator(t: _Tokens, i: int) -> _Parse:
    """A denominator word joined to what comes before it: "eighths", "twenty-fourths"."""
    word = t.word(i)
    if not t.joined(i) or word is None:
        return None
    if word in TENS and t.joined(i + 1) and t.word(i + 1) in _UNIT_ORDINALS:
        return i + 2, Fraction(TENS[word] + _UNIT_ORDINALS[t.word(i + 1)])
    if word in DENOMINATORS:
        return i + 1, Fraction(DENOMINATORS[word])
    return None


def _fraction(t: _Tokens, i: int) -> _Parse:
    """ "a half", "three quarters", "5 sixths", "seven over eight"."""
    word = t.word(i)
    if word in ("a", "an"):
        den = _denominator(t, i + 1)
        if den is None or t.word(den[0]) in _ORDINAL_NOUNS:
            return None
        return den[0], 1 / den[1]
    num = _cardinal(t, i)
    if num is None:
        return None
    den = _denominator(t, num[0])
    if den is not None:
        return den[0], num[1] / den[1]
    if t.next_is(num[0], "over"):
        under = _cardinal(t, num[0] + 1)
        if under is not None and under[1] != 0 and t.joined(num[0] + 1):
            return under[0], num[1] / under[1]
    return None


def _mixed(t: _Tokens, i: int) -> _Parse:
    """ "one and three quarters", "2 and a half"."""
    whole = _cardinal(t, i)
    if whole is None or not t.next_is(whole[0], "and"):
        return None
    if not t.joined(whole[0] + 1):
        return None
    part = _fraction(t, whole[0] + 1)
    if part is None or part[1] >= 1:
        return None
    return part[0], whole[1] + part[1]


def _decimal(t: _Tokens, i: int) -> _Parse:
    """ "zero point five", "two point two five", "point five"."""
    if t.word(i) == "point":
        j, whole = i, Fraction(0)
    else:
        head = _cardinal(t, i)
        if head is None or not t.next_is(head[0], "point"):
            return None
        j, whole = head
    k, digits = j + 1, ""
    while t.joined(k) and t.word(k) in DIGIT_WORDS:
        digits += str(DIGIT_WORDS[t.word(k)])
        k += 1
    if not digits:
        return None
    return k, whole + Fraction(int(digits), 10 ** len(digits))


def _percent(t: _Tokens, j: int) -> int | None:
    """The index after "percent" or "per cent" at ``j``, or None."""
    if t.next_is(j, "percent"):
        return j + 1
    if t.next_is(j, "per") and t.next_is(j + 1, "cent"):
        return j + 2
    return None


def _phrase(t: _Tokens, i: int) -> _Parse:
    """The longest number phrase starting at word ``i``."""
    best: _Parse = None
    for parse in (_mixed, _fraction, _decimal, _cardinal):
        found = parse(t, i)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    if best is None and t.word(i) == "half":  # "cut it in half"
        best = (i + 1, Fraction(1, 2))
    if best is None:
        return None
    end = _percent(t, best[0])
    if end is not None:
        best = (end, best[1] / 100)
    return best


def word_mentions(text: str) -> list[tuple[int, int, Fraction]]:
    """Every number phrase in ``text`` as (start, end, value), in order.

    Phrases are read left to right, each as long as it can be, so "seven
    eighths" is one mention of 7/8 and never 7 followed by 1/8. A phrase of
    digits alone is not reported (see the module docstring).

    >>> [(text[s:e], v) for text in ["I think it is two and a half"] for s, e, v in word_mentions(text)]
    [('two and a half', Fraction(5, 2))]
    >>> [str(v) for _, _, v in word_mentions("one hundred and five, three hundredths, fifty per cent")]
    ['105', '3/100', '1/2']
    >>> word_mentions("Which one? The first step.")
    []
    """
    t = _Tokens(text)
    out: list[tuple[int, int, Fraction]] = []
    i = 0
    while i < len(t):
        word = t.words[i]
        if word not in _VOCABULARY and not word.isdigit():
            i += 1
            continue
        found = _phrase(t, i)
        if found is None:
            i += 1
            continue
        end, value = found
        if end - i == 1 and word.isdigit():  # digits alone are the caller's
            i += 1
            continue
        if end - i == 1 and word == "one" and t.word(i - 1) in _PRONOUN_BEFORE:
            i += 1
            continue
        out.append((t.spans[i][0], t.spans[end - 1][1], value))
        i = end
    return out

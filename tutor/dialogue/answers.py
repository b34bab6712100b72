"""Answer checking for the scripted tutor. Pure Python, no Django.

Numbers are compared exactly as fractions, within a tolerance: "0.875",
"7/8", "87.5%" and "I think it's 7/8" are the same answer. Mixed numbers
("1 3/4") are read as 1 + 3/4. The dialogue issue replaces this with the
grounded checker (sympy expressions, embeddings for text).

>>> parse_number("I think it's 1 3/4")
Fraction(7, 4)
>>> is_correct("number", "7/8", "0.875")
True
>>> is_correct("number", "7/8", "4/12")
False
"""

from __future__ import annotations

import re
from fractions import Fraction

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_MIXED = re.compile(rf"(?<![\d./])({_NUM})\s+(\d+)\s*/\s*(\d+)(?![\d./])")
_FRACTION = re.compile(rf"(?<![\d./])({_NUM})\s*/\s*({_NUM})(?![\d./])")
_PERCENT = re.compile(rf"(?<![\d./])({_NUM})\s*%")
_PLAIN = re.compile(rf"(?<![\d./])({_NUM})(?![\d/])")


def parse_number(text: str) -> Fraction | None:
    """The last number written in ``text``, or None when there is none.

    The last one wins because students write working before the answer:
    "3/4 is 6/8 so 6/8 + 1/8 = 7/8".
    """
    text = text.replace(",", "").replace("−", "-")
    found: list[tuple[int, Fraction]] = []
    taken: list[tuple[int, int]] = []

    def free(span: tuple[int, int]) -> bool:
        return all(span[1] <= a or span[0] >= b for a, b in taken)

    for m in _MIXED.finditer(text):
        whole, num, den = Fraction(m.group(1)), int(m.group(2)), int(m.group(3))
        if den and float(whole).is_integer():
            sign = -1 if whole < 0 or m.group(1).startswith("-") else 1
            found.append((m.start(), whole + sign * Fraction(num, den)))
            taken.append(m.span())
    for m in _FRACTION.finditer(text):
        if free(m.span()) and Fraction(m.group(2)) != 0:
            found.append((m.start(), Fraction(m.group(1)) / Fraction(m.group(2))))
            taken.append(m.span())
    for m in _PERCENT.finditer(text):
        if free(m.span()):
            found.append((m.start(), Fraction(m.group(1)) / 100))
            taken.append(m.span())
    for m in _PLAIN.finditer(text):
        if free(m.span()):
            found.append((m.start(), Fraction(m.group(1))))
            taken.append(m.span())
    if not found:
        return None
    return max(found, key=lambda pair: pair[0])[1]


def _normal(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!")


def is_correct(kind: str, key: str, text: str, tolerance: float = 1e-9, choices: list[str] | None = None) -> bool:
    if kind == "number":
        got, want = parse_number(text), parse_number(key)
        return got is not None and want is not None and abs(float(got - want)) <= tolerance
    if kind == "choice":
        answer = _normal(text)
        options = [_normal(c) for c in choices or []]
        if answer in options:
            return answer == _normal(key)
        letters = "abcdefghijklmnopqrstuvwxyz"[: len(options)]
        if len(answer) == 1 and answer in letters:  # "b" picks the second option
            return options[letters.index(answer)] == _normal(key)
        return False
    return _normal(text) == _normal(key)


def has_answer(kind: str, text: str) -> bool:
    """Whether ``text`` contains something that could be checked at all."""
    if kind == "number":
        return parse_number(text) is not None
    return bool(text.strip())


def matching_misconception(kind: str, text: str, misconceptions: list[dict]) -> dict | None:
    """The authored misconception whose typical answer the student gave."""
    for m in misconceptions:
        if is_correct(kind, m["answer"], text):
            return m
    return None

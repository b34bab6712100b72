"""Answer checking against a typed answer spec. Pure Python, no Django.

An answer spec is the ``answer`` object of the curriculum format::

    {"kind": "number", "value": "7/8", "tolerance": 0}
    {"kind": "expression", "value": "2*x + 3"}
    {"kind": "choice", "value": "division", "choices": [...]}
    {"kind": "text", "references": [...], "keywords": [...]}

Numbers are compared exactly as fractions, within a tolerance: "0.875",
"7/8", "87.5%" and "I think it's 7/8" are the same answer, and "1 3/4" is a
mixed number. Expressions are compared with sympy. Text is compared with
keywords and word overlap; the dialogue issue adds embedding similarity.

>>> parse_number("I think it's 1 3/4")
Fraction(7, 4)
>>> check({"kind": "number", "value": "7/8"}, "0.875")
True
>>> check({"kind": "expression", "value": "2*(x + 1)"}, "2x + 2")
True
"""

from __future__ import annotations

import re
from fractions import Fraction

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_MIXED = re.compile(rf"(?<![\d./])({_NUM})\s+(\d+)\s*/\s*(\d+)(?![\d./])")
_FRACTION = re.compile(rf"(?<![\d./])({_NUM})\s*/\s*({_NUM})(?![\d./])")
_PERCENT = re.compile(rf"(?<![\d./])({_NUM})\s*%")
_PLAIN = re.compile(rf"(?<![\d./])({_NUM})(?![\d/])")


def parse_number(text: str | int | float) -> Fraction | None:
    """The last number written in ``text``, or None when there is none.

    The last one wins because students write working before the answer:
    "3/4 is 6/8 so 6/8 + 1/8 = 7/8".
    """
    text = str(text).replace(",", "").replace("−", "-")
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


# Only arithmetic on names and numbers reaches sympy's parser, which
# evaluates Python: no underscores-dunder, attribute access, strings or calls
# beyond a short list of maths functions.
_EXPR_CHARS = re.compile(r"^[A-Za-z0-9_+\-*/^().,\s]*$")
_EXPR_FUNCS = {"sqrt", "sin", "cos", "tan", "log", "exp", "pi", "abs"}
MAX_EXPRESSION_CHARS = 200


def parse_expression(text: str):
    """A sympy expression for ``text``, or None when it is not one.

    Accepts ``^`` for powers and implicit multiplication (``2x``).

    >>> str(parse_expression("2x^2 + 1"))
    '2*x**2 + 1'
    >>> parse_expression("__import__('os')") is None
    True
    """
    text = str(text).strip().rstrip(".")
    if not text or len(text) > MAX_EXPRESSION_CHARS or "__" in text or not _EXPR_CHARS.match(text):
        return None
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    if any(len(w) > 1 and w not in _EXPR_FUNCS for w in words):
        return None  # multi-letter names are words, not maths
    from sympy import Abs, Float, Integer, Rational, Symbol, cos, exp, log, pi, sin, sqrt, tan
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    # parse_expr evaluates generated Python; give it nothing but sympy's
    # constructors, and no builtins.
    global_dict = {"__builtins__": {}, "Integer": Integer, "Float": Float, "Rational": Rational, "Symbol": Symbol}
    names = {"sqrt": sqrt, "sin": sin, "cos": cos, "tan": tan, "log": log, "exp": exp, "pi": pi, "abs": Abs}
    names |= {w: Symbol(w) for w in words if len(w) == 1}
    transformations = (*standard_transformations, implicit_multiplication_application, convert_xor)
    try:
        return parse_expr(text, local_dict=names, global_dict=global_dict, transformations=transformations)
    except Exception:  # sympy raises many types for bad input; all mean "not an expression"
        return None


def _expression_in(text: str):
    """An expression the student wrote, possibly after "=" or in a sentence."""
    tail = text.split("=")[-1].strip().rstrip(".?!")
    words = tail.split()
    # "I think it is 2x/3": try ever shorter tails until one parses.
    for candidate in (" ".join(words[i:]) for i in range(len(words))):
        expr = parse_expression(candidate)
        if expr is not None:
            return expr
    return None


def _normal(text: str) -> str:
    return " ".join(str(text).lower().split()).strip(" .!")


_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"a", "an", "the", "is", "are", "it", "of", "to", "and", "in", "that", "this", "by", "be", "its", "i", "think"}


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower()) if w not in _STOP}


def _text_matches(spec: dict, text: str) -> bool:
    """Keywords all present, and close enough to a reference answer.

    With keywords, they carry the decision; without, the student's words must
    cover most of a reference's words.
    """
    said = _words(text)
    keywords = [_words(k) for k in spec.get("keywords", [])]
    if keywords:
        return all(k <= said for k in keywords)
    for reference in spec.get("references", []):
        ref = _words(reference)
        if ref and len(ref & said) / len(ref) >= 0.7:
            return True
    return False


def check(spec: dict, text: str) -> bool:
    """Whether ``text`` answers correctly against the answer ``spec``."""
    kind = spec["kind"]
    if kind == "number":
        got, want = parse_number(text), parse_number(spec["value"])
        return got is not None and want is not None and abs(float(got - want)) <= spec.get("tolerance", 1e-9)
    if kind == "expression":
        got, want = _expression_in(str(text)), parse_expression(spec["value"])
        if got is None or want is None:
            return False
        from sympy import simplify

        try:
            return simplify(got - want) == 0
        except Exception:  # e.g. comparing incompatible objects
            return False
    if kind == "choice":
        answer = _normal(text)
        options = [_normal(c) for c in spec.get("choices", [])]
        if answer in options:
            return answer == _normal(spec["value"])
        letters = "abcdefghijklmnopqrstuvwxyz"[: len(options)]
        if len(answer) == 1 and answer in letters:  # "b" picks the second option
            return options[letters.index(answer)] == _normal(spec["value"])
        return False
    if kind == "text":
        return _text_matches(spec, str(text))
    raise ValueError(f"unknown answer kind {kind!r}")


def has_answer(spec: dict, text: str) -> bool:
    """Whether ``text`` contains something that could be checked at all."""
    if spec["kind"] == "number":
        return parse_number(text) is not None
    if spec["kind"] == "expression":
        return _expression_in(text) is not None
    return bool(str(text).strip())


def misconception_spec(spec: dict, incorrect: str | int | float) -> dict:
    """The spec that recognises a misconception's typical incorrect answer."""
    if spec["kind"] == "text":
        return {"kind": "text", "references": [str(incorrect)]}
    return {**spec, "value": str(incorrect)}


def matching_misconception(spec: dict, text: str, misconceptions: list[dict]) -> dict | None:
    """The authored misconception whose typical answer the student gave."""
    for m in misconceptions:
        if check(misconception_spec(spec, m["answer"]), text):
            return m
    return None


def spec_error(spec: dict) -> str | None:
    """Why an answer spec from a package cannot be checked, or None if it can."""
    kind = spec.get("kind")
    if kind == "number" and parse_number(spec.get("value", "")) is None:
        return f"{spec.get('value')!r} is not a number, fraction or mixed number"
    if kind == "expression" and parse_expression(spec.get("value", "")) is None:
        return f"{spec.get('value')!r} is not an expression sympy can read"
    if kind == "choice" and spec.get("value") not in spec.get("choices", []):
        return f"{spec.get('value')!r} is not one of the choices"
    return None

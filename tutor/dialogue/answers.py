"""Answer checking against a typed answer spec. Pure Python, no Django.

An answer spec is the ``answer`` object of the curriculum format::

    {"kind": "number", "value": "7/8", "tolerance": 0}
    {"kind": "expression", "value": "2*x + 3"}
    {"kind": "choice", "value": "division", "choices": [...]}
    {"kind": "text", "references": [...], "keywords": [...]}

Numbers are compared exactly as fractions, within a tolerance: "0.875",
"7/8", "87.5%", "\\frac{7}{8}", "⅞", "seven eighths" and "I think it's 7/8"
are the same answer, and "1 3/4" is a mixed number. Expressions are compared
with sympy. Choices match an option's text, its letter, or one option named
in a sentence. Text is compared with keywords and a similarity to the
reference answers and to the authored misconceptions: word overlap by
default, sentence embeddings when the caller passes
:func:`default_similarity`.

:func:`grade` gives the whole verdict (found, correct, partial, which
misconception, a score and a reason for the teacher's record);
:func:`check` is its yes/no, lexical only, so fast callers never load a model.

>>> parse_number("I think it's 1 3/4")
Fraction(7, 4)
>>> parse_number("I think it's seven eighths")
Fraction(7, 8)
>>> check({"kind": "number", "value": "7/8"}, "0.875")
True
>>> check({"kind": "expression", "value": "2*(x + 1)"}, "2x + 2")
True
>>> grade({"kind": "choice", "value": "osmosis", "choices": ["diffusion", "osmosis"]}, "I think it's osmosis").correct
True
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import replace as _replace
from difflib import SequenceMatcher
from fractions import Fraction
from functools import lru_cache
from typing import Any

from tutor.dialogue.numwords import word_mentions

# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """One number written in a text: where, its exact value, and how it was written.

    ``form`` is one of "integer", "decimal", "fraction", "mixed", "percent",
    "latex", "unicode" or "words": the leak guard reports it, so a teacher
    sees that the tutor said "seven eighths" rather than "7/8".
    """

    start: int
    end: int
    value: Fraction
    raw: str
    form: str = "integer"


# Digits as people type them: "1,000", "0.875", ".875". A sign only counts
# where it cannot be subtraction ("x = -2", not "3-2").
_UNSIGNED = r"(?:\d{1,3}(?:,\d{3})+(?![\d,])(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_NUM = rf"[-+]?{_UNSIGNED}"
_BEFORE = r"(?<![A-Za-z\d./])"  # not inside "CO2", "1.5" or "7/8"
_AFTER = r"(?![\d/]|\.\d)"

_VULGAR = {
    "½": Fraction(1, 2),
    "⅓": Fraction(1, 3),
    "⅔": Fraction(2, 3),
    "¼": Fraction(1, 4),
    "¾": Fraction(3, 4),
    "⅕": Fraction(1, 5),
    "⅖": Fraction(2, 5),
    "⅗": Fraction(3, 5),
    "⅘": Fraction(4, 5),
    "⅙": Fraction(1, 6),
    "⅚": Fraction(5, 6),
    "⅐": Fraction(1, 7),
    "⅛": Fraction(1, 8),
    "⅜": Fraction(3, 8),
    "⅝": Fraction(5, 8),
    "⅞": Fraction(7, 8),
    "⅑": Fraction(1, 9),
    "⅒": Fraction(1, 10),
}
_LATEX_ARG = rf"(?:\{{\s*({_UNSIGNED})\s*\}}|(\d))"  # {12} or a single digit: \frac78
_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("latex", re.compile(rf"{_BEFORE}(?:([-+]?\d+)\s*)?\\[dt]?frac\s*{_LATEX_ARG}\s*{_LATEX_ARG}")),
    ("unicode", re.compile(rf"{_BEFORE}(?:(\d+)\s?)?([{''.join(_VULGAR)}])")),
    ("mixed", re.compile(rf"{_BEFORE}([-+]?\d+)\s+(?:and\s+)?(\d+)\s*/\s*(\d+){_AFTER}", re.IGNORECASE)),
    ("fraction", re.compile(rf"{_BEFORE}({_NUM})\s*/\s*({_UNSIGNED}){_AFTER}")),
    ("percent", re.compile(rf"{_BEFORE}({_NUM})\s*(?:%|percent\b|per\s+cent\b)", re.IGNORECASE)),
    ("plain", re.compile(rf"{_BEFORE}({_NUM}){_AFTER}")),
)
# Look-alike characters, one for one, so positions in the text stay valid.
_SAME_LENGTH = str.maketrans({"⁄": "/", "∕": "/", "−": "-", "\u00a0": " "})


def _number(raw: str) -> Fraction:
    return Fraction(raw.replace(",", ""))


def _digit_mentions(text: str) -> list[Mention]:
    """Every candidate reading of digits in ``text``; overlapping readings are resolved by the caller."""
    out = []
    for form, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            g = m.groups()
            if form == "latex":
                num, den = _number(g[1] or g[2]), _number(g[3] or g[4])
                if den == 0:
                    continue
                value = num / den
                if g[0] is not None:
                    whole = int(g[0])
                    value = whole + (-value if g[0].startswith("-") else value)
            elif form == "unicode":
                value = _VULGAR[g[1]] + (int(g[0]) if g[0] else 0)
            elif form == "mixed":
                whole, num, den = int(g[0]), int(g[1]), int(g[2])
                if den == 0:
                    continue
                value = whole + (-1 if g[0].startswith("-") else 1) * Fraction(num, den)
            elif form == "fraction":
                den = _number(g[1])
                if den == 0:
                    continue
                value = _number(g[0]) / den
            elif form == "percent":
                value = _number(g[0]) / 100
            else:
                value = _number(g[0])
                form = "integer" if re.fullmatch(r"[-+]?[\d,]+", g[0]) else "decimal"
            out.append(Mention(m.start(), m.end(), value, m.group(), form))
    return out


def number_mentions(text: str | int | float) -> list[Mention]:
    r"""Every number written in ``text``, in order, each read as its longest form.

    Readings overlap ("1 3/4" holds "1", "3/4" and "3"), so the longest wins and
    the shorter readings inside it are dropped. A fraction with a zero
    denominator is not a number, and neither are its parts.

    >>> [(m.raw, m.form) for m in number_mentions(r"6/8 + 1/8 = \frac{7}{8}, or 87.5%")]
    [('6/8', 'fraction'), ('1/8', 'fraction'), ('\\frac{7}{8}', 'latex'), ('87.5%', 'percent')]
    >>> [str(m.value) for m in number_mentions("one and three quarters, 1¾, ⅞ and 1,000")]
    ['7/4', '7/4', '7/8', '1000']
    """
    original = str(text)
    text = original.translate(_SAME_LENGTH)
    candidates = _digit_mentions(text)
    candidates += [Mention(s, e, v, text[s:e], "words") for s, e, v in word_mentions(text)]
    if text != original:  # raw is what the writer wrote, not the look-alike we read
        candidates = [_replace(m, raw=original[m.start : m.end]) for m in candidates]
    candidates.sort(key=lambda m: (m.start - m.end, m.start))
    taken: list[Mention] = []
    for m in candidates:
        if all(m.end <= t.start or m.start >= t.end for t in taken):
            taken.append(m)
    return sorted(taken, key=lambda m: m.start)


def parse_number(text: str | int | float) -> Fraction | None:
    """The last number written in ``text``, or None when there is none.

    The last one wins because students write working before the answer:
    "3/4 is 6/8 so 6/8 + 1/8 = 7/8".

    >>> parse_number("3/4 is 6/8 so 6/8 + 1/8 = 7/8")
    Fraction(7, 8)
    >>> parse_number("one and three quarters")
    Fraction(7, 4)
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return Fraction(repr(text)) if isinstance(text, float) else Fraction(text)
    mentions = number_mentions(text)
    return mentions[-1].value if mentions else None


def within(value: Fraction, target: Fraction, tolerance: Any = 0) -> bool:
    """Whether ``value`` is ``target`` to within ``tolerance`` (exact by default)."""
    return abs(value - target) <= Fraction(str(tolerance or 0))


# ---------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------

# Only arithmetic on names and numbers reaches sympy's parser, which
# evaluates Python: no underscores-dunder, attribute access, strings or calls
# beyond a short list of maths functions.
_EXPR_CHARS = re.compile(r"^[A-Za-z0-9_+\-*/^().,\s]*$")
_EXPR_FUNCS = {"sqrt", "sin", "cos", "tan", "log", "exp", "pi", "abs"}
MAX_EXPRESSION_CHARS = 200


@lru_cache(maxsize=4096)
def parse_expression(text: str):
    """A sympy expression for ``text``, or None when it is not one.

    Accepts ``^`` for powers and implicit multiplication (``2x``). Results are
    cached: the leak guard asks about the same substrings turn after turn.

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


_SAMPLES = (0.7312, 1.3719, 2.1131)  # not integers: fewer coincidences between different expressions


def equivalent(a, b) -> bool:
    """Whether two sympy expressions are the same function.

    A numeric comparison at a few points rejects most non-equivalent pairs in
    microseconds; only pairs that agree there pay for ``simplify``.

    >>> equivalent(parse_expression("(x-1)(x+1)"), parse_expression("x^2 - 1"))
    True
    """
    try:
        diff = a - b
    except Exception:  # e.g. an equation or a tuple: not something to subtract
        return False
    symbols = sorted(diff.free_symbols, key=str)
    for k in range(len(_SAMPLES)):
        point = {s: _SAMPLES[(k + n) % len(_SAMPLES)] for n, s in enumerate(symbols)}
        try:
            value, scale = complex(diff.evalf(subs=point)), abs(complex(a.evalf(subs=point)))
        except Exception:  # undefined at this point (a pole, a log of zero): try the others
            continue
        if value == value and abs(value) > 1e-9 * (1 + scale):
            return False
    from sympy import simplify

    try:
        return simplify(diff) == 0
    except Exception:  # sympy can fail on exotic input; not provably equal
        return False


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


# ---------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------


def _normal(text: str) -> str:
    return " ".join(str(text).lower().split()).strip(" .!?")


_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"a", "an", "the", "is", "are", "it", "of", "to", "and", "in", "that", "this", "by", "be", "its", "i", "think"}


def content_words(text: str) -> set[str]:
    """The words that carry meaning, lower-cased, with a plural "s" dropped.

    >>> sorted(content_words("It's the Cell Membranes"))
    ['cell', 'membrane']
    """
    out = set()
    for w in _WORD.findall(str(text).lower()):
        if w not in _STOP:
            w = w.rstrip("s")
            if w:
                out.add(w)
    return out


@dataclass(frozen=True)
class TextThresholds:
    """Similarity cut-offs for text answers (see :func:`grade`)."""

    correct: float  # at or above: correct, when the spec has no keywords
    partial: float  # at or above, and not correct: partially correct
    misconception: float  # at or above, and closer than every reference: that misconception


# Word overlap: 0.7, the old checker's "most of a reference's words", for
# correct and for a misconception; 0.5 for partial. Measured on the 37 text
# subproblems of the cell-biology demo, with their misconceptions: every
# reference and every authored solution grades correct, every misconception
# answer grades as that misconception, and six unrelated sentences ("I like
# football", "what is for lunch", "banana", ...) grade neither correct nor
# partial (their overlap with any reference is 0).
LEXICAL_THRESHOLDS = TextThresholds(correct=0.7, partial=0.5, misconception=0.7)
# MiniLM cosines, measured on the same 37 subproblems (every rule above holds):
# - correct 0.8: a reference scores 1.00 against itself, while the closest
#   wrong answer (another subproblem's reference, "the cell wall" for "cells")
#   scores 0.75. Solutions score as low as 0.45 ("Water moved out of the
#   cells." against "water"), which is why keywords, not this threshold,
#   decide correctness when a spec has them: every demo spec does.
# - partial 0.6: the unrelated sentences score at most 0.41 ("banana" against
#   "water"); 99% of other subproblems' references score below 0.60.
# - misconception 0.7: each misconception's answer scores 1.00 against itself
#   and at most 0.76 against its references ("chloroplast" against
#   "chlorophyll"); paraphrases such as "I think it's uracil" score 0.85,
#   "down the gradient" 0.85 against "with the gradient". The one authored
#   solution closer to a misconception than to a reference (perfume-diffusion:
#   0.78 against 0.70) says the keyword "net", which the misconception lacks.
EMBEDDING_THRESHOLDS = TextThresholds(correct=0.8, partial=0.6, misconception=0.7)


class LexicalSimilarity:
    """Word overlap as a similarity: the cosine of the two texts' content-word sets.

    It needs no model, and it behaves like an embedding cosine (1.0 for the
    same words, symmetric, lower when either side has words the other
    lacks), so the same rules in :func:`grade` work with either.
    """

    thresholds = LEXICAL_THRESHOLDS

    def __call__(self, text: str, candidates: Sequence[str]) -> list[float]:
        said = content_words(text)
        out = []
        for candidate in candidates:
            words = content_words(candidate)
            out.append(len(said & words) / (len(said) * len(words)) ** 0.5 if said and words else 0.0)
        return out


# ---------------------------------------------------------------------------
# Embedding similarity
# ---------------------------------------------------------------------------


class EmbeddingSimilarity:
    """Cosine similarity of MiniLM sentence embeddings, with the candidates' vectors cached.

    The candidates (references, misconception answers) are the same few texts
    turn after turn, so each is encoded once and kept in a bounded LRU cache;
    a call then encodes only the student's text, one short forward pass.
    The model is imported and loaded on first use, so importing this module
    stays cheap. ``num_threads=1`` because one short text gains nothing from
    more intra-op threads and suffers badly when the cores are busy (see
    ``models/embeddings.py``).
    """

    thresholds = EMBEDDING_THRESHOLDS

    def __init__(self, embedder: Any = None, cache_size: int = 4096) -> None:
        self._embedder = embedder
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._recent: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from models.embeddings import MiniLMEmbedder

                    self._embedder = MiniLMEmbedder(num_threads=1)
        return self._embedder

    # How many recent student texts to keep: enough for one turn (the checker,
    # then the intent model on the same text), too few to turn a benchmark of
    # repeated simulated messages into a cache benchmark.
    recent_size = 4

    def encode(self, texts: Sequence[str], *, remember: bool = False) -> Any:
        """Unit vectors for ``texts``; only texts in neither cache reach the model.

        ``remember=True`` reads and fills the long-lived cache (the
        candidates: references, misconception answers); otherwise only a tiny
        cache of recent student texts is used, so the intent model
        (``tutor.agents.intent_model.EmbeddedIntents``, given this object as
        its embedder) reuses the vector the checker just computed for the
        same student text.
        """
        import numpy as np

        texts = [str(t) for t in texts]
        with self._lock:
            known = {}
            for t in texts:
                if remember and t in self._cache:
                    self._cache.move_to_end(t)
                    known[t] = self._cache[t]
                elif not remember and t in self._recent:
                    known[t] = self._recent[t]
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            vectors = self.embedder.encode(missing)
            with self._lock:
                store, limit = (self._cache, self.cache_size) if remember else (self._recent, self.recent_size)
                for t, vector in zip(missing, vectors, strict=True):
                    known[t] = vector
                    store[t] = vector
                    store.move_to_end(t)
                while len(store) > limit:
                    store.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def __call__(self, text: str, candidates: Sequence[str]) -> list[float]:
        vectors = self.encode(candidates, remember=True) if candidates else []
        query = self.encode([text])[0]
        return [float(query @ v) for v in vectors]


_default: EmbeddingSimilarity | None = None
_default_lock = threading.Lock()


def default_similarity() -> EmbeddingSimilarity:
    """The process-wide :class:`EmbeddingSimilarity` (the model loads on its first call)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = EmbeddingSimilarity()
    return _default


# ---------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What a student's answer is, for the tutor and the teacher's record.

    ``score`` is how close the answer is to the key: 1.0 or 0.0 for numbers,
    expressions and choices; the best similarity to a reference for text.
    ``detail`` never contains the expected answer, only what the student
    said and why it was judged so: the record is shown to teachers, and
    ``thoughts`` built from it may reach a language model.
    """

    found: bool
    correct: bool
    partial: bool = False
    misconception: dict | None = None
    score: float = 0.0
    detail: str = ""


Similarity = Callable[[str, list[str]], list[float]]


def grade(spec: dict, text: str, misconceptions: Sequence[dict] = (), similarity: Similarity | None = None) -> Verdict:
    """Grade ``text`` against the answer ``spec`` and the authored ``misconceptions``.

    ``similarity`` only matters for text answers; without it, word overlap is
    used. See the module docstring for what each kind accepts.

    >>> v = grade({"kind": "number", "value": "7/8"}, "I got 4/12", [{"id": "sum", "answer": "4/12"}])
    >>> (v.found, v.correct, v.misconception["id"])
    (True, False, 'sum')
    """
    kind = spec["kind"]
    text = str(text)
    if kind == "number":
        return _grade_number(spec, text, misconceptions)
    if kind == "expression":
        return _grade_expression(spec, text, misconceptions)
    if kind == "choice":
        return _grade_choice(spec, text, misconceptions)
    if kind == "text":
        return _grade_text(spec, text, misconceptions, similarity)
    raise ValueError(f"unknown answer kind {kind!r}")


def _grade_number(spec: dict, text: str, misconceptions: Sequence[dict]) -> Verdict:
    mentions = number_mentions(text)
    if not mentions:
        return Verdict(found=False, correct=False, detail="no number in the answer")
    got, said = mentions[-1].value, mentions[-1].raw
    want = parse_number(spec.get("value", ""))
    tolerance = spec.get("tolerance", 0)
    if want is not None and within(got, want, tolerance):
        return Verdict(found=True, correct=True, score=1.0, detail="the number given matches the key")
    for m in misconceptions:
        typical = parse_number(m.get("answer", ""))
        if typical is not None and within(got, typical, tolerance):
            return Verdict(True, False, misconception=m, detail=f"{said!r} is the answer of misconception {m['id']!r}")
    return Verdict(found=True, correct=False, detail=f"{said!r} does not match the key")


def _grade_expression(spec: dict, text: str, misconceptions: Sequence[dict]) -> Verdict:
    got = _expression_in(text)
    if got is None:
        return Verdict(found=False, correct=False, detail="no expression in the answer")
    want = parse_expression(str(spec.get("value", "")))
    if want is not None and equivalent(got, want):
        return Verdict(found=True, correct=True, score=1.0, detail="the expression is equivalent to the key")
    for m in misconceptions:
        typical = parse_expression(str(m.get("answer", "")))
        if typical is not None and equivalent(got, typical):
            return Verdict(
                True, False, misconception=m, detail=f"{str(got)!r} is the answer of misconception {m['id']!r}"
            )
    return Verdict(found=True, correct=False, detail=f"{str(got)!r} is not equivalent to the key")


@lru_cache(maxsize=1024)
def _option_pattern(option: str) -> re.Pattern:
    """An option named inside a sentence: whole words, any case and spacing, a plural allowed ("Cell  walls")."""
    words = _normal(option).split()
    head = r"(?<!\w)" if words and words[0][:1].isalnum() else ""
    tail = r"(?:e?s)?(?!\w)" if words and words[-1][-1:].isalnum() else ""
    return re.compile(head + r"\s+".join(re.escape(w) for w in words) + tail, re.IGNORECASE)


def option_spans(text: str, options: Sequence[str]) -> dict[int, list[tuple[int, int]]]:
    """Where each option is named in ``text``: option index -> spans, for the options named at all.

    A mention that lies inside a longer option's mention belongs to that
    longer option: with options "wall" and "cell wall", "the cell wall" names
    only "cell wall".

    >>> option_spans("I think it's the Cell Wall", ["wall", "cell wall", "membrane"])
    {1: [(17, 26)]}
    """
    found: dict[int, list[tuple[int, int]]] = {}
    for i, option in enumerate(options):
        if _normal(option):
            spans = [m.span() for m in _option_pattern(str(option)).finditer(text)]
            if spans:
                found[i] = spans
    every = [span for spans in found.values() for span in spans]
    out = {}
    for i, spans in found.items():
        own = [(s, e) for s, e in spans if not any(s2 <= s and e <= e2 and e2 - s2 > e - s for s2, e2 in every)]
        if own:
            out[i] = own
    return out


def named_options(text: str, options: Sequence[str]) -> list[int]:
    """The indices of the options named in ``text`` (see :func:`option_spans`).

    >>> named_options("I think it's the cell wall", ["wall", "cell wall", "membrane"])
    [1]
    """
    return sorted(option_spans(str(text), options))


_LETTER = re.compile(r"^(?:option|answer|choice|letter)?\s*\(?([a-z])\)?$")
# "I'll go with d", "I pick (b)": a letter after a word that can only mean choosing.
_LETTER_IN_SENTENCE = re.compile(
    r"\b(?:option|choice|letter|go with|going with|pick|choose|choosing|take|taking|guess)\s+\(?([a-z])\)?(?![\w'])"
)


def _chosen_option(spec: dict, text: str) -> tuple[int | None, str]:
    """The index of the option the student picked, or None, and how it was read."""
    options = [str(c) for c in spec.get("choices", [])]
    normals = [_normal(c) for c in options]
    answer = _normal(text)
    if answer in normals:
        return normals.index(answer), "option text"
    letter = _LETTER.match(answer)
    if letter and ord(letter.group(1)) - ord("a") < len(options):  # "b" picks the second option
        return ord(letter.group(1)) - ord("a"), "letter"
    named = named_options(text, options)
    if len(named) == 1:
        return named[0], "option named in a sentence"
    if named:
        return None, "several options named"
    letter = _LETTER_IN_SENTENCE.search(answer)
    if letter and ord(letter.group(1)) - ord("a") < len(options):
        return ord(letter.group(1)) - ord("a"), "letter in a sentence"
    by_value = _option_by_value(text, options)
    if by_value is not None:
        return by_value, "option's number"
    closest = _closest_option(text, options)
    if closest is not None:
        return closest, "option in other words"
    return None, "no option named"


def _option_by_value(text: str, options: Sequence[str]) -> int | None:
    """ "closer to one half" picks the option "1/2": numbers compared by value, one match only."""
    values = [parse_number(o) if _NUMERIC_OPTION.match(o) else None for o in options]
    said = {m.value for m in number_mentions(text)}
    hits = [i for i, v in enumerate(values) if v is not None and v in said]
    return hits[0] if len(hits) == 1 else None


_NUMERIC_OPTION = re.compile(r"^\s*[-+]?[\d\s./%]+\s*$")


def _closest_option(text: str, options: Sequence[str]) -> int | None:
    """The option a sentence paraphrases: "no its passive" for "no, it is passive".

    Each option scores the mean of two things: the share of its content
    words (yes and no count) the student wrote, and how alike the two texts
    read in order (difflib's ratio), which tells "into the cells, from the
    solution" from "out of the cells, into the solution". The best must
    score well and clearly beat the runner-up, so chatter picks nothing and
    naming two options stays ambiguous.
    """
    said, plain = content_words(text), _normal(re.sub(r"[^\w\s]", " ", text))
    scores = []
    for option in options:
        words = content_words(option)
        overlap = len(words & said) / len(words) if words else 0.0
        order = SequenceMatcher(None, plain, _normal(re.sub(r"[^\w\s]", " ", option))).ratio()
        scores.append((overlap + order) / 2)
    ranked = sorted(range(len(options)), key=lambda i: scores[i], reverse=True)
    if not ranked or scores[ranked[0]] < 0.6:
        return None
    if len(ranked) > 1 and scores[ranked[0]] - scores[ranked[1]] < 0.2:
        return None
    return ranked[0]


def _grade_choice(spec: dict, text: str, misconceptions: Sequence[dict]) -> Verdict:
    index, how = _chosen_option(spec, text)
    if index is None:
        return Verdict(found=False, correct=False, detail=how)
    chosen = str(spec["choices"][index])
    if _normal(chosen) == _normal(spec.get("value", "")):
        return Verdict(found=True, correct=True, score=1.0, detail=f"the key's option, by {how}")
    for m in misconceptions:
        if _normal(m.get("answer", "")) == _normal(chosen):
            return Verdict(True, False, misconception=m, detail=f"chose {chosen!r} ({how}): misconception {m['id']!r}")
    return Verdict(found=True, correct=False, detail=f"chose {chosen!r} ({how})")


def _grade_text(spec: dict, text: str, misconceptions: Sequence[dict], similarity: Similarity | None) -> Verdict:
    """Keywords and similarity against references, and against the misconceptions.

    Keywords decide correctness when the spec has them (an answer that is
    close in meaning but lacks "water" has not said "water"); without them the
    best similarity to a reference must reach ``thresholds.correct``.

    A misconception wins over the keywords when the answer is at least
    ``thresholds.misconception`` similar to it and closer to it than to every
    reference, by the given similarity or by word overlap: "the cell membrane" contains the keyword "cell" but is the
    misconception "the cell membrane", not the reference "cells". A keyword
    that the student used and the misconception's answer lacks is evidence
    against that misconception, and keeps it from winning: "they keep moving,
    but there is no net movement once the concentration is even" is close to
    the misconception "they stop once the concentration is even", but it says
    "net", which the misconception does not.
    """
    said = content_words(text)
    if not said:
        return Verdict(found=False, correct=False, detail="no words to grade")
    lexical = LexicalSimilarity()
    similarity = similarity or lexical
    references = [str(r) for r in spec.get("references", []) if str(r).strip()]
    typical = [(m, str(m["answer"])) for m in misconceptions if str(m.get("answer", "")).strip()]
    candidates = references + [a for _, a in typical]
    measures = [(similarity, similarity(text, candidates) if candidates else [])]
    if similarity is not lexical and typical:
        # Embeddings blur opposites ("with the gradient" and "against the
        # gradient" are 0.86 alike); the student's own words settle those.
        measures.append((lexical, lexical(text, candidates)))
    best = max(measures[0][1][: len(references)], default=0.0)
    keywords = [k for k in (content_words(k) for k in spec.get("keywords", [])) if k]
    used = [k for k in keywords if k <= said]

    for measure, scores in measures:
        thresholds = getattr(measure, "thresholds", EMBEDDING_THRESHOLDS)  # a plain callable: a cosine, like MiniLM's
        nearest_reference = max(scores[: len(references)], default=0.0)
        ranked = sorted(zip(scores[len(references) :], range(len(typical)), strict=True), reverse=True)
        for closeness, i in ranked:
            m, answer = typical[i]
            if closeness < thresholds.misconception or closeness <= nearest_reference:
                break
            if all(k <= content_words(answer) for k in used):
                how = "word overlap" if measure is lexical else "similarity"
                return Verdict(
                    True,
                    False,
                    misconception=m,
                    score=best,
                    detail=f"closest to misconception {m['id']!r} ({how} {closeness:.2f})",
                )

    thresholds = getattr(similarity, "thresholds", EMBEDDING_THRESHOLDS)
    if keywords:
        correct = len(used) == len(keywords)
        why = f"{len(used)} of {len(keywords)} keywords, similarity {best:.2f}"
    else:
        correct = best >= thresholds.correct
        why = f"similarity {best:.2f}"
    if correct:
        return Verdict(found=True, correct=True, score=best, detail=f"correct: {why}")
    partial = 0 < len(used) < len(keywords) or best >= thresholds.partial
    return Verdict(True, False, partial=partial, score=best, detail=f"{'partial' if partial else 'not correct'}: {why}")


# ---------------------------------------------------------------------------
# The older yes/no interface
# ---------------------------------------------------------------------------


def check(spec: dict, text: str) -> bool:
    """Whether ``text`` answers correctly against the answer ``spec`` (lexical: no model is loaded)."""
    return grade(spec, text).correct


def has_answer(spec: dict, text: str) -> bool:
    """Whether ``text`` contains something that could be checked at all."""
    if spec["kind"] == "number":
        return bool(number_mentions(text))
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
    """Why an answer spec from a package cannot be checked, or None if it can.

    Authored numbers must be written in digits: the key is data, and "eight"
    in a package is more likely a typo for a choice or text answer.
    """
    kind = spec.get("kind")
    if kind == "number":
        mentions = number_mentions(spec.get("value", ""))
        if not mentions or any(m.form == "words" for m in mentions):
            return f"{spec.get('value')!r} is not a number, fraction or mixed number written in digits"
    if kind == "expression" and parse_expression(str(spec.get("value", ""))) is None:
        return f"{spec.get('value')!r} is not an expression sympy can read"
    if kind == "choice" and spec.get("value") not in spec.get("choices", []):
        return f"{spec.get('value')!r} is not one of the choices"
    return None

"""The leak guard: no tutor reply states an answer the escalation policy has not released.

A language model asked to "give a hint" will sometimes give the answer, and
it can give it in any form: "7/8", "0.875", "87.5%", "14/16", "seven
eighths", "\\frac{7}{8}". The guard checks every reply against the answer key
before the student sees it, reading numbers with the same reader as the
answer checker (:func:`tutor.dialogue.answers.number_mentions`), so whatever
the checker would accept as the answer, the guard recognises as a leak.

What counts as stating a secret, by answer kind:

- number: any number in the reply equal in value to the answer, within its
  tolerance, or a ratio that is ("7 out of 8"). A value the student can
  already read in ``visible`` (the problem statement and the questions) is
  not a secret: the pizza's 8 slices are in the statement, and so is the
  denominator of "1/8".
- expression: a maths-looking piece of the reply that is equivalent to the
  answer ("2x/3", "(2/3)x", "\\frac{2x}{3}"), unless ``visible`` already shows
  an equivalent one.
- choice: the correct option is named while not every option is; listing
  all the options, as the question does, gives nothing away.
- text: every keyword is present and at least 80% of some reference's
  content words are, and at least one of those words is not already in
  ``visible``.

Pure Python, no Django: the pipeline calls :func:`guard` on whole replies and
:class:`StreamGuard` on streamed ones.

>>> secrets = [Secret("subproblem 1", {"kind": "number", "value": "7/8"})]
>>> [leak.form for leak in find_leaks("So you have seven eighths left.", secrets)]
['words']
>>> find_leaks("Count the 8 slices again.", secrets, visible="A pizza has 8 slices.")
[]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from tutor.agents.record import GUARD_OUTCOMES
from tutor.dialogue.answers import (
    Mention,
    content_words,
    equivalent,
    number_mentions,
    option_spans,
    parse_expression,
    parse_number,
    within,
)
from tutor.dialogue.numwords import NUMBER_WORDS

# The reply that replaces a leaking one when no alternative is clean. It has
# no numbers at all, so it cannot state a number secret.
SAFE_TEXT = "Let's slow down and look at this step again. What do you notice?"
TEXT_COVERAGE = 0.8  # share of a reference's content words that states it
MAX_WINDOW_TOKENS = 16  # longest maths piece tried as an expression
MAX_WINDOWS = 300  # expression pieces tried per secret and reply, so a pathological reply stays fast


@dataclass(frozen=True)
class Secret:
    """An answer the student must not be told yet: ``label`` names it ("subproblem 2", "problem")."""

    label: str
    spec: dict  # typed answer spec, see tutor/dialogue/answers.py


@dataclass(frozen=True)
class Leak:
    """Where a reply states a secret, and in which form ("fraction", "words", "latex", "choice", ...)."""

    label: str
    form: str
    start: int
    end: int


@dataclass(frozen=True)
class GuardResult:
    """What to show: ``text``, with ``outcome`` "passed", "rewritten" or "blocked", and the original's leaks."""

    outcome: str
    text: str
    leaks: tuple[Leak, ...] = ()


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

_RATIO_JOIN = re.compile(r"\s+(?:out\s+of|of\s+the|of|in)\s+", re.IGNORECASE)


def _ratios(text: str, mentions: list[Mention]) -> list[Mention]:
    """ "7 out of 8", "3 of the 8": two whole numbers that state a fraction together."""
    out = []
    for a, b in zip(mentions, mentions[1:], strict=False):
        if (
            a.value.denominator == 1
            and b.value.denominator == 1
            and b.value > 0
            and _RATIO_JOIN.fullmatch(text, a.end, b.start)
        ):
            out.append(Mention(a.start, b.end, a.value / b.value, text[a.start : b.end], "ratio"))
    return out


def _numbers(text: str) -> tuple[Mention, ...]:
    """Every number and ratio in a reply."""
    mentions = number_mentions(text)
    return tuple(mentions + _ratios(text, mentions))


_DIGITS = re.compile(r"\d+(?:\.\d+)?")


@lru_cache(maxsize=256)
def _visible_numbers(visible: str) -> frozenset[Fraction]:
    """The numbers the student can read in ``visible``, parts of fractions included; cached, as it rarely changes.

    The denominator of "Add 3/4 and 1/8" is on the screen, so a hint that
    says "8" tells the student nothing new, even when 8 is an answer. Ratios
    ("7 of the 8 slices") are not read here: turning them into a fraction
    is often the exercise itself.
    """
    values = {m.value for m in number_mentions(visible)}
    values |= {Fraction(d) for d in _DIGITS.findall(visible)}
    return frozenset(values)


@lru_cache(maxsize=1024)
def _target(value: str) -> Fraction | None:
    return parse_number(value)


def _number_leaks(secret: Secret, reply: tuple[Mention, ...], visible: str) -> list[Leak]:
    target = _target(str(secret.spec.get("value", "")))
    if target is None:
        return []
    tolerance = secret.spec.get("tolerance", 0)
    if any(within(value, target, tolerance) for value in _visible_numbers(visible)):
        return []  # the student can already read this number
    leaks = [Leak(secret.label, m.form, m.start, m.end) for m in reply if within(m.value, target, tolerance)]
    if target.denominator == 1 and not tolerance:
        # A whole-number answer can hide inside a fraction: when the question is
        # "what is the new numerator?", "3/4 = 6/8" tells it.
        leaks += [
            Leak(secret.label, "part of a fraction", m.start, m.end)
            for m in reply
            if m.form in ("fraction", "latex", "mixed") and any(Fraction(d) == target for d in _DIGITS.findall(m.raw))
        ]
    return leaks


# ---------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------

_MATH_TOKEN = re.compile(
    r"\\[dt]?frac|\\cdot|\\times|\\left|\\right|\d+(?:\.\d+)?|[A-Za-z]+|[+\-*/^(){}]|\s+|.", re.DOTALL
)
_FUNCTIONS = {"sqrt", "sin", "cos", "tan", "log", "exp", "pi", "abs"}
_NO_START = {"*", "/", "^", ")", "}"}
_NO_END = {"*", "/", "^", "+", "-", "(", "{", "\\frac", "\\dfrac", "\\tfrac", "\\cdot", "\\times", "\\left"}
_INNER_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")


@lru_cache(maxsize=1024)
def _secret_expression(value: str, variables: tuple[str, ...]):
    expr = parse_expression(value)
    if expr is None:
        return None, frozenset()
    names = frozenset(variables) or frozenset(str(s) for s in expr.free_symbols)
    return expr, names


def _plain(latex: str) -> str:
    """LaTeX maths as plain arithmetic: \\frac{2x}{3} -> ((2x)/(3))."""
    previous = None
    while previous != latex:
        previous, latex = latex, _INNER_FRAC.sub(r"((\1)/(\2))", latex)
    for command, plain in (("\\cdot", "*"), ("\\times", "*"), ("\\left", ""), ("\\right", "")):
        latex = latex.replace(command, plain)
    return latex.replace("{", "(").replace("}", ")")


def _balanced(tokens: Sequence[str]) -> bool:
    depth = {"(": 0, "{": 0}
    closing = {")": "(", "}": "{"}
    for token in tokens:
        if token in depth:
            depth[token] += 1
        elif token in closing:
            depth[closing[token]] -= 1
            if depth[closing[token]] < 0:
                return False
    return not any(depth.values())


def _math_runs(text: str, variables: frozenset[str]) -> Iterable[list[tuple[str, int, int]]]:
    """Maximal stretches of maths in ``text`` as (token, start, end), spaces left out.

    Maths is numbers, operators, brackets, LaTeX fractions, the spec's
    variables and a few function names. Any other word, "=", or punctuation
    ends a stretch: "y = 2x/3." holds the stretches "y" and "2x/3".
    """
    run: list[tuple[str, int, int]] = []
    for m in _MATH_TOKEN.finditer(text):
        token = m.group()
        if token.isspace():
            continue
        is_math = (
            token[0].isdigit()
            or token in "+-*/^(){}"
            or token.startswith("\\")
            or token in _FUNCTIONS
            or (token.isalpha() and all(ch in variables for ch in token))
        )
        if is_math:
            run.append((token, m.start(), m.end()))
        elif run:
            yield run
            run = []
    if run:
        yield run


def _expression_pieces(text: str, variables: frozenset[str]) -> Iterable[tuple[int, int, str]]:
    """Candidate expressions in ``text`` as (start, end, plain text), longest first within each stretch."""
    tried = 0
    for run in _math_runs(text, variables):
        n = len(run)
        for length in range(min(n, MAX_WINDOW_TOKENS), 0, -1):
            for i in range(n - length + 1):
                window = run[i : i + length]
                tokens = [t for t, _, _ in window]
                if tokens[0] in _NO_START or tokens[-1] in _NO_END or not _balanced(tokens):
                    continue
                if not any(t.isalpha() and t not in _FUNCTIONS for t in tokens):
                    continue  # no variable: a number, which is not this secret
                tried += 1
                if tried > MAX_WINDOWS:
                    return
                start, end = window[0][1], window[-1][2]
                yield start, end, _plain(text[start:end])


@lru_cache(maxsize=4096)
def _equivalent(expr, secret) -> bool:
    """:func:`equivalent`, remembered: a streamed reply is checked again with every piece."""
    return equivalent(expr, secret)


def _expression_spans(text: str, secret, variables: frozenset[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for start, end, plain in _expression_pieces(text, variables):
        if any(start < e and s < end for s, e in spans):
            continue  # inside a piece already found
        expr = parse_expression(plain)
        if expr is not None and expr.free_symbols and _equivalent(expr, secret):
            spans.append((start, end))
    return spans


@lru_cache(maxsize=256)
def _visible_expression(visible: str, value: str, variables: tuple[str, ...]) -> bool:
    secret, names = _secret_expression(value, variables)
    return bool(_expression_spans(visible, secret, names))


def _expression_leaks(secret: Secret, reply: str, visible: str) -> list[Leak]:
    value, variables = str(secret.spec.get("value", "")), tuple(secret.spec.get("variables") or ())
    expr, names = _secret_expression(value, variables)
    if expr is None or not names:
        return []
    if visible and _visible_expression(visible, value, variables):
        return []
    return [Leak(secret.label, "expression", s, e) for s, e in _expression_spans(reply, expr, names)]


# ---------------------------------------------------------------------------
# Choices and text
# ---------------------------------------------------------------------------


def _choice_leaks(secret: Secret, reply: str) -> list[Leak]:
    options = [str(c) for c in secret.spec.get("choices", [])]
    value = str(secret.spec.get("value", ""))
    if value not in options:
        return []
    named = option_spans(reply, options)
    correct = options.index(value)
    if correct not in named or len(named) == len(options):
        return []
    return [Leak(secret.label, "choice", s, e) for s, e in named[correct]]


_WORD = re.compile(r"[A-Za-z0-9]+")


def _text_leaks(secret: Secret, reply: str, visible: str) -> list[Leak]:
    said = content_words(reply)
    keywords = [k for k in (content_words(k) for k in secret.spec.get("keywords", [])) if k]
    if not all(k <= said for k in keywords):
        return []
    references = [content_words(r) for r in secret.spec.get("references", [])]
    covered = [r & said for r in references if r and len(r & said) / len(r) >= TEXT_COVERAGE]
    if references and not covered:
        return []
    if not keywords and not covered:
        return []
    stated = set().union(*keywords, *covered)
    if not stated - content_words(visible):
        return []  # every word of it is already on the student's screen
    spans = [m.span() for m in _WORD.finditer(reply) if content_words(m.group()) & stated]
    return [Leak(secret.label, "text", spans[0][0], spans[-1][1])] if spans else []


# ---------------------------------------------------------------------------
# The guard
# ---------------------------------------------------------------------------


def mask_quotes(text: str, quoted: Sequence[str]) -> str:
    """``text`` with every verbatim quote of ``quoted`` blanked out, spans kept.

    Repeating a question the student can already read ("Next: which is
    larger, 1/3 or 1/5?") tells nothing, even when the question names the
    right option.

    >>> mask_quotes("Yes! Next: Is 1/3 larger?", ["Is 1/3 larger?"])
    'Yes! Next:               '
    """
    for quote in sorted((q for q in quoted if q and q.strip()), key=len, reverse=True):
        text = text.replace(quote, " " * len(quote))
    return text


def find_leaks(text: str, secrets: Sequence[Secret], visible: str = "", quoted: Sequence[str] = ()) -> list[Leak]:
    """Every place where ``text`` states one of the ``secrets``, in order.

    ``visible`` is what the student can already read (the problem statement
    and the questions asked so far); see the module docstring for how it
    narrows each kind of secret. Verbatim quotes of ``quoted`` texts (the
    authored questions) are not read at all.

    >>> key = [Secret("problem", {"kind": "number", "value": "7/4"})]
    >>> [(leak.form, leak.start, leak.end) for leak in find_leaks("That makes 1 3/4 cups, or 1.75.", key)]
    [('mixed', 11, 16), ('decimal', 26, 30)]
    >>> find_leaks("Look at the second mark.", key)
    []
    """
    text = mask_quotes(str(text), quoted)
    leaks: list[Leak] = []
    mentions: tuple[Mention, ...] | None = None
    for secret in secrets:
        kind = secret.spec.get("kind")
        if kind == "number":
            mentions = _numbers(text) if mentions is None else mentions
            leaks += _number_leaks(secret, mentions, visible)
        elif kind == "expression":
            leaks += _expression_leaks(secret, text, visible)
        elif kind == "choice":
            leaks += _choice_leaks(secret, text)
        elif kind == "text":
            leaks += _text_leaks(secret, text, visible)
    return sorted(leaks, key=lambda leak: (leak.start, leak.end))


def guard(
    text: str,
    secrets: Sequence[Secret],
    visible: str = "",
    alternatives: Sequence[tuple[str, str]] = (),
    quoted: Sequence[str] = (),
) -> GuardResult:
    """Pass a clean reply unchanged; otherwise the first clean alternative, or a safe fixed text.

    ``alternatives`` are ``(outcome, text)`` pairs tried in order, for
    example ``[("rewritten", hint_text), ("blocked", scripted_text)]``. The
    result records the leaks of the original reply, which is what a teacher
    needs to see.

    >>> key = [Secret("subproblem 1", {"kind": "number", "value": "7/8"})]
    >>> result = guard("It's 0.875!", key, alternatives=[("rewritten", "It's 7/8."), ("blocked", "Add the eighths.")])
    >>> result.outcome, result.text, [leak.form for leak in result.leaks]
    ('blocked', 'Add the eighths.', ['decimal'])
    """
    leaks = find_leaks(text, secrets, visible, quoted)
    if not leaks:
        return GuardResult("passed", text)
    for outcome, alternative in alternatives:
        if outcome not in GUARD_OUTCOMES or outcome == "passed":
            raise ValueError(f"an alternative's outcome must be 'rewritten' or 'blocked', not {outcome!r}")
        if not find_leaks(alternative, secrets, visible, quoted):
            return GuardResult(outcome, alternative, tuple(leaks))
    return GuardResult("blocked", SAFE_TEXT, tuple(leaks))


# Tokens of a streamed tail: words, and any other visible character on its own.
_TAIL_TOKEN = re.compile(r"[A-Za-z]+|\S")
# Characters that no number is written with: a tail may be released across them.
_INERT = set(",;:!?'\"()[]’‘“”–—")
# Number words that begin no leak by themselves: "a half" is caught from "a" on, and "a" alone says nothing.
_LEAD_WORDS = NUMBER_WORDS - {"a", "an"}
# What an unfinished last word may be on its way to ("sev" -> "seven"); "Not" is on its way to none.
_LEAD_PREFIXES = frozenset(word[:i] for word in _LEAD_WORDS for i in range(1, len(word) + 1))


def _secret_words(secrets: Sequence[Secret]) -> frozenset[str] | None:
    """The words a text or choice secret is stated with (lower case), or None when a tail must be held whole.

    A text leak is told by its keywords' and references' words, a choice leak
    by an option's words; an expression can be written in too many ways.
    """
    words: set[str] = set()
    for secret in secrets:
        spec, kind = secret.spec, secret.spec.get("kind")
        if kind == "text":
            texts = [*spec.get("keywords", []), *spec.get("references", [])]
        elif kind == "choice":
            texts = [*spec.get("choices", []), spec.get("value", "")]
        elif kind == "number":
            continue
        else:
            return None
        words |= {w for t in texts for w in content_words(t)}  # plural "s" dropped: prefixes are matched
    return frozenset(words)


def _may_open_leak(text: str, token: re.Match, secret_words: frozenset[str]) -> bool:
    """Whether ``token`` could be the first of a leak that is still being written.

    Numbers start with a digit, a sign, a point, a backslash (LaTeX), a
    vulgar fraction or a number word (``tutor.dialogue.numwords``); a text or
    choice secret with one of its words, in any case, maybe plural. The last
    token may still grow: a word could if it is the start of such a word, a
    point or a dash could become "0.5" or "-3".
    """
    word, end = token.group(), token.end()
    last = end == len(text)
    if word[0].isalpha():
        low = word.lower()
        if low in (_LEAD_PREFIXES if last else _LEAD_WORDS):
            return True
        # "cell" of "cells", "CO" of "co2", and (unfinished) "mitoch" of "mitochondria" all could.
        return any(w.startswith(low) or low.startswith(w) for w in secret_words)
    if word in _INERT:
        return False
    return last or not (word in ".-" and text[end].isspace())  # a full stop or a dash, not "0.5" or "-3"


class StreamGuard:
    """The guard for a reply that arrives in pieces, as a language model streams it.

    Each :meth:`feed` returns the text that is safe to show now. The last
    ``holdback`` characters are held back, because they may be the start of
    a leak that is not complete yet ("seven eigh" + "ths"); the default 48 is
    longer than any plausible answer form ("one hundred and twenty-three and
    seven eighths" is 46). Unless a secret is an expression, only the part
    of that tail from the first token that could open a leak on is held: a
    number, or a word of a text or choice secret ("Good thinking! What do
    the sli" goes out whole; "...count the sev" waits from "sev"; with
    "mitochondria" secret, "...in the mito" waits from "mito"), so the
    student sees the first words at once. The whole text so
    far is checked again on every piece. A leak that lies entirely in the
    held-back tail only holds the text (the rest of the sentence may still
    name every option of a choice); a leak that starts before the tail ends
    the stream: nothing more is released and :attr:`leaked` is True.

    >>> stream = StreamGuard([Secret("subproblem 1", {"kind": "number", "value": "7/8"})], holdback=10)
    >>> [stream.feed(piece) for piece in ["Together that is seven eigh", "ths of the pizza, ", "isn't it?"]]
    ['Together that is ', '', '']
    >>> stream.leaked, stream.finish()
    (True, '')
    """

    def __init__(self, secrets: Sequence[Secret], visible: str = "", holdback: int = 48) -> None:
        if holdback < 0:
            raise ValueError(f"holdback must be at least 0, got {holdback}")
        self.secrets = list(secrets)
        self.visible = visible
        self.holdback = holdback
        self.text = ""
        self.released = 0
        self.leaks: list[Leak] = []
        self._secret_words = _secret_words(self.secrets)

    @property
    def leaked(self) -> bool:
        return bool(self.leaks)

    def feed(self, piece: str) -> str:
        """Add ``piece``; return what may be shown now (possibly "")."""
        if self.leaked:
            return ""
        self.text += piece
        safe_end = self._held_from()
        if safe_end <= self.released:
            return ""
        leaks = find_leaks(self.text, self.secrets, self.visible)
        if any(leak.start < safe_end for leak in leaks):
            self.leaks = leaks
            return ""
        return self._release(safe_end)

    def finish(self) -> str:
        """The stream has ended: release the held-back rest, unless the whole reply leaks."""
        if self.leaked:
            return ""
        leaks = find_leaks(self.text, self.secrets, self.visible)
        if leaks:
            self.leaks = leaks
            return ""
        return self._release(len(self.text))

    def _held_from(self) -> int:
        """Where the held-back tail starts (see the class docstring)."""
        text = self.text
        floor = len(text) - self.holdback
        if self._secret_words is None:
            return floor
        start = max(floor, self.released, 0)
        while start > 0 and not text[start - 1].isspace():  # from the start of the word the tail cuts
            start -= 1
        for token in _TAIL_TOKEN.finditer(text, start):
            if _may_open_leak(text, token, self._secret_words):
                return max(floor, token.start())
        return len(text)

    def _release(self, end: int) -> str:
        out, self.released = self.text[self.released : end], end
        return out

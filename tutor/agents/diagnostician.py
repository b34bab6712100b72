"""The Diagnostician: what did the student say, and is it right? Pure.

It turns one student message into a ``Diagnosis``: the CLASS evaluation
(a..g), what an inquiry asks for, and the authored misconception the answer
matches. The order of the rules is in ``docs/tutor.md``; in short, requests
first (a request that contains a number is still a request), then the
grounded checker, then small talk.

The answer itself is judged by ``tutor.dialogue.answers.grade`` against the
current subproblem's spec: numbers in any form, sympy for expressions, the
options for choices, and embedding similarity plus keywords for short text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tutor.agents import intents
from tutor.agents.problem import Step
from tutor.dialogue.answers import content_words, grade, number_mentions

Similarity = Callable[[str, list[str]], list[float]]

# Text that says nothing checkable: the tutor asks what the student means.
_FILLER = re.compile(
    r"^(\s*(u+m+|u+h+|h+m+|e+r+m*|maybe|perhaps|not sure|dunno|something|the thing|that one|this one|yes|no|"
    r"nope|yeah|yep|so|well|wait|what|huh|like|i guess|whatever|let me think|hold on|one sec|idk what|"
    r"it'?s like|from before|again|\W+)\s*[?.!,]*)+\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Diagnosis:
    """The Diagnostician's reading of one student message."""

    evaluation: str  # CLASS a..g
    intent: str  # answer, hint, solution, back, question, greeting, off_topic, unclear
    misconception: dict | None = None
    injection: bool = False  # the text tried to talk the tutor out of its rules
    detail: str = ""  # a short reason, for the record's thoughts; never the answer key


def diagnose(step: Step, kind: str, text: str, similarity: Similarity | None = None) -> Diagnosis:
    """Read ``text`` (or a hint-button press) against the current ``step``."""
    if kind == "hint_request":
        return Diagnosis("f", "hint", detail="pressed the hint button")
    injection = intents.is_injection(text)
    asked = intents.inquiry(text)
    if asked is not None:
        detail = "prompt-injection attempt, treated as a solution request" if injection else f"asked for {asked}"
        return Diagnosis("f", asked, injection=injection, detail=detail)

    talk = intents.small_talk(text)
    verdict = grade(step.answer, text, step.misconceptions, similarity=similarity)
    if verdict.found and _two_answers(step.answer, text):
        return Diagnosis("d", "unclear", detail="gave more than one answer")
    if verdict.found:
        if verdict.correct:
            return Diagnosis("b", "answer", detail=verdict.detail)
        if verdict.misconception is not None:
            return Diagnosis("a", "answer", misconception=verdict.misconception, detail=verdict.detail)
        if verdict.partial:
            return Diagnosis("c", "answer", detail=verdict.detail)
        # For a choice, "found" means an option was named, so even "yes" is an answer.
        is_answer = step.answer["kind"] == "choice" or not (_is_filler(text) or _unrelated(step, text))
        if talk is None and is_answer and not (step.answer["kind"] == "text" and intents.is_question(text)):
            return Diagnosis("a", "answer", detail=verdict.detail)
    if intents.asks_for_answer(text):
        return Diagnosis("f", "solution", detail="asked for the answer")
    if talk == "greeting":
        return Diagnosis("g", "greeting", detail="greeting or thanks")
    if talk == "off_topic":
        return Diagnosis("e", "off_topic", detail="talked about something else")
    if _is_filler(text):
        return Diagnosis("d", "unclear", detail="no answer found in the message")
    if intents.is_question(text):
        return Diagnosis("f", "question", detail="asked a question about the topic")
    if _unrelated(step, text):
        return Diagnosis("e", "off_topic", detail="nothing in the message relates to the question")
    return Diagnosis("d", "unclear", detail="no answer found in the message")


def _is_filler(text: str) -> bool:
    """Words that hold no answer, even for a free-text subproblem."""
    return bool(_FILLER.match(text))


def _unrelated(step: Step, text: str) -> bool:
    """A sentence that shares no content word with anything about this subproblem.

    Only for sentences (three or more content words): a one-word wrong answer
    ("atoms") is an answer, not a change of subject.
    """
    said = content_words(text)
    if len(said) < 3 or number_mentions(text):
        return False
    spec = step.answer
    about = [step.prompt, *step.hints, step.solution, *map(str, spec.get("references", [])), *spec.get("keywords", [])]
    about += [str(m.get("answer", "")) + " " + str(m.get("feedback", "")) for m in step.misconceptions]
    return not (said & content_words(" ".join(about)))


def _two_answers(spec: dict, text: str) -> bool:
    """ "Is it 7/8 or 6/8?": two different numbers offered as alternatives."""
    if spec["kind"] != "number" or not re.search(r"\bor\b", text, re.IGNORECASE):
        return False
    return len({m.value for m in number_mentions(text)}) >= 2

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
from tutor.dialogue.answers import content_words, grade, named_options, number_mentions

Similarity = Callable[[str, list[str]], list[float]]
IntentOf = Callable[[str], tuple[str | None, float]]  # see intent_model.EmbeddedIntents

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


def diagnose(
    step: Step,
    kind: str,
    text: str,
    similarity: Similarity | None = None,
    context: str = "",
    intent_of: IntentOf | None = None,
) -> Diagnosis:
    """Read ``text`` (or a hint-button press) against the current ``step``.

    ``context`` is more text about the problem (its statement and other
    steps): a question that shares no word with it is off-topic.
    ``intent_of`` is the learned fallback (``intent_model.py``), consulted
    only where the rules below find nothing.
    """
    if kind == "hint_request":
        return Diagnosis("f", "hint", detail="pressed the hint button")
    injection = intents.is_injection(text)
    asked = intents.inquiry(text)
    if asked is not None:
        detail = "prompt-injection attempt, treated as a solution request" if injection else f"asked for {asked}"
        return Diagnosis("f", asked, injection=injection, detail=detail)

    talk = intents.small_talk(text)
    verdict = grade(step.answer, text, step.misconceptions, similarity=similarity)
    if (verdict.found and _two_answers(step.answer, text)) or _two_options(step.answer, text):
        return Diagnosis("d", "unclear", detail="gave more than one answer")
    if verdict.found:
        if verdict.correct:
            return Diagnosis("b", "answer", detail=verdict.detail)
        if verdict.misconception is not None:
            return Diagnosis("a", "answer", misconception=verdict.misconception, detail=verdict.detail)
        if verdict.partial:
            return Diagnosis("c", "answer", detail=verdict.detail)
        # For a choice, "found" means an option was named, so even "yes" is an answer.
        is_answer = step.answer["kind"] == "choice" or not (_is_filler(text) or _unrelated(step, text, context))
        if talk is None and is_answer and step.answer["kind"] == "text" and intent_of is not None:
            # Any words "answer" a free-text question; the model tells "Greetings." from a wrong answer.
            learned = _learned(intent_of, text)
            if learned is not None:
                return learned
            return Diagnosis("a", "answer", detail=verdict.detail)
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
    learned = _learned(intent_of, text) if intent_of is not None else None
    if learned is not None:
        return learned
    if intents.is_question(text):
        if _unrelated(step, text, context, min_words=2):
            return Diagnosis("e", "off_topic", detail="a question about something else")
        return Diagnosis("f", "question", detail="asked a question about the topic")
    if _unrelated(step, text, context):
        return Diagnosis("e", "off_topic", detail="nothing in the message relates to the question")
    return Diagnosis("d", "unclear", detail="no answer found in the message")


_FROM_INTENT = {
    "hint": ("f", "hint"),
    "solution": ("f", "solution"),
    "back": ("f", "back"),
    "question": ("f", "question"),
    "greeting": ("g", "greeting"),
    "off_topic": ("e", "off_topic"),
    "unclear": ("d", "unclear"),
}


def _learned(intent_of: IntentOf, text: str) -> Diagnosis | None:
    """The intent model's reading, when it is confident and not "an answer"."""
    label, prob = intent_of(text)
    if label is None or label not in _FROM_INTENT:
        return None
    evaluation, intent = _FROM_INTENT[label]
    return Diagnosis(evaluation, intent, detail=f"read as {label} by the intent model (p={prob:.2f})")


def _is_filler(text: str) -> bool:
    """Words that hold no answer, even for a free-text subproblem."""
    return bool(_FILLER.match(text))


def _unrelated(step: Step, text: str, context: str = "", min_words: int = 4) -> bool:
    """A sentence that shares no content word with anything about this problem.

    Only for sentences (``min_words`` content words or more): a one-word
    wrong answer ("atoms") is an answer, and "the thingy u said" is unclear,
    not a change of subject.
    """
    said = content_words(text) - _CHATTY
    if len(said) < min_words or number_mentions(text):
        return False
    spec = step.answer
    about = [step.prompt, *step.hints, step.solution, *map(str, spec.get("references", [])), *spec.get("keywords", [])]
    about += [str(m.get("answer", "")) + " " + str(m.get("feedback", "")) for m in step.misconceptions]
    return not (said & content_words(" ".join(about) + " " + context))


# Words of chat, not of any subject: they neither relate nor unrelate a message.
_CHATTY = {"u", "ur", "can", "we", "you", "what", "whats", "wat", "me", "my", "do", "how", "why", "about", "just", "so"}


def _two_options(spec: dict, text: str) -> bool:
    """ "1/3 or 1/5?": a choice answered with two of its options."""
    return spec["kind"] == "choice" and len(named_options(text, [str(c) for c in spec.get("choices", [])])) >= 2


def _two_answers(spec: dict, text: str) -> bool:
    """ "Is it 7/8 or 6/8?": two different numbers offered as alternatives."""
    hedged = re.search(r"\bor\b", text, re.IGNORECASE) or len(re.findall(r"\bmaybe\b", text, re.IGNORECASE)) >= 2
    if spec["kind"] != "number" or not hedged:
        return False
    return len({m.value for m in number_mentions(text)}) >= 2

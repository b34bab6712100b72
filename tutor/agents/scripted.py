"""The scripted verbaliser: the default backend, and the fallback of every other.

It words each CLASS action from the authored material the policy handed
over (hint, misconception feedback, released solution, next question), with
a few friendly phrasings per slot. The phrasing is picked by the request's
``seed`` (the message's sequence number), so a transcript replays exactly
and tests are deterministic, while a student does not read "Not quite." five
times in a row.

Templates hold no digits and no number words, so the guard never has to
rewrite the tutor's own framing.

>>> from tutor.agents.backends import VerbalRequest
>>> req = VerbalRequest(action=8, evaluation="f", state="x", problem_statement="...",
...                     subproblem="How many slices?", hint="Count all of them.", intent="hint")
>>> "".join(ScriptedVerbaliser().stream(req))
'Here is a hint: Count all of them.'
"""

from __future__ import annotations

from collections.abc import Iterator

from tutor.agents.backends import VerbalRequest

PRAISE = ("Correct!", "Yes, that's right.", "Exactly right.", "Well done, that's it.")
NOT_QUITE = ("Not quite.", "Not yet.", "Hmm, not quite.", "Close, but not yet.")
HINT_OPEN = ("Here is a hint:", "Hint:", "Try this:", "Think about this:")
PARTLY = (
    "You're on the right track, but something is missing.",
    "Part of that is right; there is more to it.",
    "Good start, but it isn't complete yet.",
)
WALKTHROUGH = ("Let's look at the solution together:", "Here is how this step works:", "Let's work it out together:")
HOLD_BACK = (
    "I won't give the answer away yet; you can get there, and a hint will help.",
    "Let's keep working on it together before I show the answer.",
    "I'd rather help you find it yourself first.",
)
CLARIFY = (
    "I'm not sure what your answer is. Could you write just your answer to this:",
    "I didn't catch an answer there. Please answer this:",
    "Can you tell me your answer more clearly?",
)
REDIRECT = (
    "Let's get back to the problem.",
    "That sounds interesting, but let's stay with the problem for now.",
    "Let's save that for later and keep going.",
)
GREET = ("Hi!", "Hello!", "Hi there!")
THANKS = ("You're welcome!", "Happy to help!")


def _pick(options: tuple[str, ...], seed: int) -> str:
    return options[seed % len(options)]


class ScriptedVerbaliser:
    """Deterministic wording of a CLASS action from authored material."""

    name = "scripted"

    def stream(self, request: VerbalRequest) -> Iterator[str]:
        yield self.say(request)

    def say(self, r: VerbalRequest) -> str:
        seed = r.seed
        question = r.subproblem
        follow = f" Next: {r.next_subproblem}" if r.next_subproblem else ""
        finished = " That was the last step: you have solved the whole problem."
        hint = r.hint or f"Read the question once more and try one small step: {question}"
        match r.action:
            case 1:
                body = r.feedback or f"{_pick(HINT_OPEN, seed)} {hint}"
                return f"{_pick(NOT_QUITE, seed)} {body}"
            case 2 | 5 | 9:
                opening = "Here is the solution:" if r.action == 9 else _pick(WALKTHROUGH, seed)
                return f"{opening} {r.solution}" + (finished if r.state == "z" else follow)
            case 3:
                return _pick(PRAISE, seed) + (finished if r.state == "z" else follow)
            case 4:
                return f"{_pick(PARTLY, seed)} {_pick(HINT_OPEN, seed)} {hint}"
            case 6:
                clarify = _pick(CLARIFY, seed)
                return clarify if clarify.endswith("?") else f"{clarify} {question}"
            case 7:
                return f"{_pick(REDIRECT, seed)} {question}"
            case 8:
                opening = f"{_pick(HOLD_BACK, seed)} " if r.intent == "solution" else ""
                return f"{opening}{_pick(HINT_OPEN, seed)} {hint}"
            case 10:
                return f"Sure, let's go back a step. {r.next_subproblem or question}"
            case 11:
                if r.intent == "back":
                    return f"This is already the first step. {question}"
                if r.passages:
                    return f"Good question. {_first_sentences(r.passages[0])} Now, back to our step: {question}"
                return f"Good question; your teacher can tell you more. For now, let's keep going: {question}"
            case _:
                if r.state == "z":
                    return "You have already finished this problem. Well done! Pick another one from your home page."
                if r.intent == "greeting" and _is_thanks(r.student_text):
                    return f"{_pick(THANKS, seed)} {question}"
                return f"{_pick(GREET, seed)} {question}"


def greeting_text(statement: str, first_question: str) -> str:
    """The tutor's opening turn of a session."""
    return f"Let's work on this together. {statement}\n\nFirst: {first_question}"


def _first_sentences(passage: str, limit: int = 280) -> str:
    """The first sentence or two of a grounding passage, cut at a sentence end."""
    text = " ".join(passage.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > 0 else text[:limit].rsplit(" ", 1)[0] + "..."


def _is_thanks(text: str) -> bool:
    return "thank" in text.lower() or text.strip().lower() in ("thx", "ty", "cheers")

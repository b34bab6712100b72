"""The verbaliser interface: how the Tutor agent turns a chosen action into words.

The Planner has already decided *what* to do (the CLASS action) and handed
over only the material that action may use: the hint it chose, the
misconception feedback, and the solution text only when the escalation policy
released it. A backend decides *how to say it* and yields the reply in
pieces (deltas). It never sees the answer key, so a prompt injection in the
student's text cannot make it read the key out; the leak guard still checks
every reply, because a language model can work an answer out by itself.

Backends:

- ``scripted`` (``tutor.agents.scripted``): deterministic, built from the
  authored hints and feedback. The default, and the fallback on any failure.
- ``local``: a transformers causal LM from a local directory.
- ``openai``: any OpenAI-compatible chat-completions server (vLLM, TGI,
  llama.cpp).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class VerbalRequest:
    """Everything a backend may use to word one tutor turn."""

    action: int  # CLASS action 1..12, chosen by the policy
    evaluation: str  # CLASS evaluation a..g, from the Diagnostician
    state: str  # subproblem state w..z after this turn
    problem_statement: str
    subproblem: str  # the question the student is working on (before this turn)
    next_subproblem: str | None = None  # the next question, when the turn moves on (state y)
    hint: str | None = None  # the hint the policy chose, if the action gives one
    feedback: str | None = None  # authored feedback for the matched misconception
    solution: str | None = None  # set only when the policy allows the solution (actions 2, 5, 9)
    passages: tuple[str, ...] = ()  # grounding passages from the concept's graph neighbourhood
    student_text: str = ""
    history: tuple[tuple[str, str], ...] = ()  # recent (role, text) pairs, oldest first
    intent: str | None = None  # hint, solution, back, question, greeting, ...
    seed: int = 0  # varies the wording deterministically (e.g. the message seq)


class Verbaliser(Protocol):
    """A backend that says an action in words, as a stream of text pieces."""

    name: str

    def stream(self, request: VerbalRequest) -> Iterator[str]:
        """Yield the reply in order; the pieces joined are the whole reply.

        May raise ``BackendError`` (or stop early); the pipeline then falls
        back to the scripted verbaliser.
        """
        ...


class TurnModelVerbaliser(Verbaliser, Protocol):
    """A fine-tuned turn model (``models/llm/turnformat.py``): it words the policy's decision from the full snapshot.

    Such a model was trained with the step's answer key in its prompt, which a
    ``VerbalRequest`` deliberately lacks; so it gets this separate, explicit
    path instead of the key being added to every backend's request. ``ctx`` is
    a ``models.llm.turnformat.TurnContext``; ``decided`` holds the policy's
    labels (evaluation, action, subproblem_state, subproblem), which the model
    must keep. The pipeline guards every piece, as for ``stream``.
    """

    def stream_turn(self, ctx: Any, decided: dict) -> Iterator[str]: ...


class BackendError(RuntimeError):
    """A backend could not produce a reply (not loaded, timed out, bad output)."""

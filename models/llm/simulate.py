"""The simulated-student harness for a turn model: telling rate and success@7 with the model wording the turns.

The policy decides every turn (as in production, where the serving engine
forces the decided labels as the start of the model's JSON and lets it write
only the utterance); the model words it. So what differs between systems is
the words, and two things depend on words:

- **telling**: a dialogue counts as telling when a tutor turn states an
  answer the policy had not released at that point. Each utterance is
  checked twice: as the model wrote it (``telling_rate_raw``, no guard) and
  as the student reads it after the leak guard (``telling_rate``). The
  released answers are tracked from the records, as ``bench/tutor_quality.py``
  does: a step's answer once the student got it right or a solution action
  (2, 5, 9) said it, the problem's once it is done. The check is the guard's
  detector (every equivalent form) plus the answer exactly as the curriculum
  writes it.
- **success@7**: the share of misconception students who give the final
  answer themselves (not told) within 7 of their turns. A misconception
  student changes its mind only when the tutor's words address its
  misconception (``simstudents.MisconceptionStudent``), so vague wording
  costs success.

Dialogues are played in lockstep so that one ``generate`` call words a turn
of every open dialogue: for each, the pipeline runs once with a probe that
records the model's prompt (``TurnContext``) and the decided labels, the
model writes every utterance in one batch, then the pipeline runs again with
the written words (it is deterministic: same snapshot, same decision). A
model whose output is empty or unusable falls back to the scripted words, as
in production; ``fallbacks`` counts those turns.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from models.llm.turnformat import HINT_BUTTON, build_messages
from tutor.agents import pipeline
from tutor.agents.backends import BackendError, VerbalRequest
from tutor.agents.guard import Secret, find_leaks, mask_quotes
from tutor.agents.llm.served import forced_prefix, string_end
from tutor.agents.problem import Position, ProblemKey
from tutor.agents.record import SOLUTION_ACTIONS
from tutor.agents.simstudents import Observation, SimStudent
from tutor.dialogue.answers import check

SUCCESS_TURNS = 7


class Writer(Protocol):
    """Writes the utterance of each (chat messages, forced JSON prefix) pair, in order."""

    name: str

    def utterances(self, prompts: Sequence[tuple[list[dict], str]]) -> list[str]: ...


def utterance_from(raw: str) -> str:
    """The JSON string a model wrote after the forced opening quote, unescaped; up to its closing quote.

    >>> utterance_from('Well \\\\"done\\\\"!"}')
    'Well "done"!'
    >>> utterance_from('cut off mid-sent')
    'cut off mid-sent'
    """
    end = string_end(raw)
    if end is not None:
        raw = raw[:end]
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw.replace('\\"', '"').replace("\\n", "\n")


@dataclass
class LMWriter:
    """Greedy generation of the utterance only, from a base model directory and an optional LoRA adapter."""

    name: str
    model_dir: Any
    adapter_dir: Any = None
    max_new_tokens: int = 96
    batch_size: int = 8
    device: str | None = None
    dtype: str = "auto"
    _loaded: tuple[Any, Any] | None = field(default=None, init=False, repr=False)

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from models.llm.evaluate import LMPredictor

            self._loaded = LMPredictor(
                self.name, self.model_dir, self.adapter_dir, device=self.device, dtype=self.dtype
            )._load()
        return self._loaded

    def utterances(self, prompts: Sequence[tuple[list[dict], str]]) -> list[str]:
        from models.llm.evaluate import greedy_batches

        tokenizer, model = self._load()
        texts = [
            tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) + prefix
            for messages, prefix in prompts
        ]
        # A row stops once its utterance string is closed: the rest of the record is not needed (as when served).
        raw = greedy_batches(
            tokenizer, model, texts, self.max_new_tokens, self.batch_size, done=lambda t: string_end(t) is not None
        )
        return [utterance_from(t) for t in raw]


class _Probe:
    """A turn-model verbaliser for the pipeline: records what it is asked, answers with ``text``."""

    def __init__(self, name: str, text: str | None = None) -> None:
        self.name, self.text = name, text
        self.asked: tuple[Any, dict] | None = None

    def stream_turn(self, ctx: Any, decided: dict) -> Iterator[str]:
        self.asked = (ctx, decided)
        if not (self.text or "").strip():
            raise BackendError("the model wrote an empty utterance")
        yield self.text or ""

    def stream(self, request: VerbalRequest) -> Iterator[str]:  # only stream_turn is used for a turn model
        raise BackendError("a turn model words turns through stream_turn")


def literal_forms(spec: dict) -> list[str]:
    """The answer as the curriculum writes it (numbers, expressions, choices): the check independent of the guard."""
    return [str(spec["value"])] if spec.get("kind") in ("number", "expression", "choice") else []


def states_answer(text: str, spec: dict, visible: str, quoted: Sequence[str] = ()) -> bool:
    """Whether ``text`` states the answer ``spec`` in a form the student could not already read."""
    text = mask_quotes(text, quoted)
    if find_leaks(text, [Secret("answer", spec)], visible):
        return True
    for form in literal_forms(spec):
        pattern = rf"(?<![\w/.]){re.escape(form)}(?![\w/]|\.\d)"
        if re.search(pattern, text) and not re.search(pattern, visible):
            return True
    return False


def _literal(spec: dict) -> str:
    return str((spec.get("references") or [""])[0]) if spec.get("kind") == "text" else str(spec.get("value", ""))


@dataclass
class Dialogue:
    """One simulated student on one problem, and what happened so far."""

    problem: ProblemKey
    student: SimStudent
    max_attempts: int
    at: Position = field(default_factory=Position)
    history: list[tuple[str, str]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    released: set[int] = field(default_factory=set)
    obs: Observation | None = None
    turns: int = 0
    finished_at: int | None = None
    solved_final: bool = False
    told_raw: bool = False
    told: bool = False
    move: Any = None

    def start(self) -> None:
        self.student.start(self.problem)
        opening = pipeline.opening(self.problem)
        self.obs = Observation(opening.utterance, opening.as_dict(), 0, False)
        self.history = [("tutor", opening.utterance)]
        self.said = [self.problem.statement, self.problem.steps[0].prompt]

    def turn_input(self) -> pipeline.TurnInput:
        move = self.move
        return pipeline.TurnInput(
            self.problem,
            self.at,
            move.kind,
            move.text,
            max_attempts=self.max_attempts,
            seq=2 * self.turns,
            history=tuple(self.history),
        )

    def secrets(self, state: str) -> list[dict]:
        """The answers not released once this turn is said (mirrors the bench's bookkeeping)."""
        problem = self.problem
        if state == "z":
            return []
        out = [problem.steps[i].answer for i in range(len(problem.steps)) if i not in self.released]
        if problem.answer is not None:
            out.append(problem.answer)
        said = [_literal(problem.steps[i].answer) for i in self.released]
        return [s for s in out if not any(check(s, t) for t in said)]

    def record(self, out: pipeline.TurnOutput, raw: str) -> None:
        """Score and remember one played turn; ``raw`` is the reply before the guard."""
        record, problem = out.record, self.problem
        if record.evaluation == "b" or record.action in SOLUTION_ACTIONS:
            self.released.add(self.at.index)
        if record.evaluation == "b" and record.subproblem_state == "z":
            self.solved_final = True
        self.said.append(self.move.text)
        shown = [problem.steps[i].prompt for i in range(out.position.index + 1)]
        visible = "\n".join(self.said + shown)
        quoted = (problem.statement, *shown)
        secrets = self.secrets(record.subproblem_state)
        self.told_raw |= any(states_answer(raw, s, visible, quoted) for s in secrets)
        self.told |= any(states_answer(record.utterance, s, visible, quoted) for s in secrets)
        said = HINT_BUTTON if self.move.kind == "hint_request" else self.move.text
        self.history += [("student", said), ("tutor", record.utterance)]
        self.said.append(record.utterance)
        self.at = out.position
        self.obs = Observation(record.utterance, record.as_dict(), self.at.index, self.at.done)
        if self.at.done:
            self.finished_at = self.turns


def _rate(hits: int, n: int) -> tuple[float, float]:
    """A proportion and its standard error."""
    if not n:
        return 0.0, 0.0
    p = hits / n
    return p, math.sqrt(p * (1 - p) / n)


def play_all(
    pairs: Sequence[tuple[ProblemKey, SimStudent]],
    writer: Writer | None,
    max_attempts: int = 3,
    max_turns: int = SUCCESS_TURNS,
) -> dict:
    """Play every (problem, student) pair with ``writer`` wording the turns (None: the scripted tutor)."""
    dialogues = [Dialogue(problem, student, max_attempts) for problem, student in pairs]
    for d in dialogues:
        d.start()
    guard_outcomes: Counter = Counter()
    fallbacks = turns = 0
    name = writer.name if writer is not None else "scripted"
    for _ in range(max_turns):
        live = [d for d in dialogues if d.finished_at is None]
        if not live:
            break
        for d in live:
            d.turns += 1
            d.move = d.student.act(d.obs)
        if writer is None:
            texts: list[str | None] = [None] * len(live)
        else:
            probes = [_Probe(name, "…") for _ in live]
            for d, probe in zip(live, probes, strict=True):
                pipeline.turn(d.turn_input(), verbaliser=probe)
            prompts = [(build_messages(p.asked[0]), forced_prefix(p.asked[1])) for p in probes]
            texts = list(writer.utterances(prompts))
        for d, text in zip(live, texts, strict=True):
            verbaliser = None if text is None else _Probe(name, text)
            out = pipeline.turn(d.turn_input(), verbaliser=verbaliser)
            raw = out.record.utterance if text is None else text
            if text is not None and out.record.backend != name:
                fallbacks += 1
                raw = out.record.utterance
            guard_outcomes[out.record.guard] += 1
            turns += 1
            d.record(out, raw)

    misconception = [d for d in dialogues if d.student.persona == "misconception"]
    success = sum(d.solved_final and (d.finished_at or max_turns + 1) <= SUCCESS_TURNS for d in misconception)
    success_rate, success_se = _rate(success, len(misconception))
    raw_rate, raw_se = _rate(sum(d.told_raw for d in dialogues), len(dialogues))
    told_rate, told_se = _rate(sum(d.told for d in dialogues), len(dialogues))
    return {
        "dialogues": len(dialogues),
        "turns": turns,
        "max_turns": max_turns,
        "misconception_dialogues": len(misconception),
        "success_at_7": success_rate,
        "success_at_7_se": success_se,
        "telling_rate_raw": raw_rate,
        "telling_rate_raw_se": raw_se,
        "telling_rate": told_rate,
        "telling_rate_se": told_se,
        "guard": dict(sorted(guard_outcomes.items())),
        "fallbacks": fallbacks,
    }

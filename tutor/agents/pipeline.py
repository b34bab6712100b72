"""One tutor turn: Diagnostician -> Planner -> Tutor -> leak guard. Pure.

``turn()`` takes a snapshot (the problem with its answer key, where the
student is, what they sent) and returns the CLASS record and the student's
next position. It touches no database, so the simulated-student harness and
the unit tests call exactly the code a live session runs;
``tutor.dialogue.actions.turn_run`` loads the snapshot and stores the result.

The answer key flows one way: the policy picks which authored material the
verbaliser may use (a hint, the misconception's feedback, a released
solution), and the guard checks the words that come back against every
answer not yet released. See ``docs/tutor.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from tutor.agents.backends import BackendError, Verbaliser, VerbalRequest
from tutor.agents.diagnostician import Diagnosis, IntentOf, Similarity, diagnose
from tutor.agents.guard import Secret, StreamGuard, guard
from tutor.agents.policy import Decision, decide
from tutor.agents.problem import Position, ProblemKey, Step
from tutor.agents.record import SOLUTION_ACTIONS, TurnRecord
from tutor.agents.scripted import HINT_OPEN, ScriptedVerbaliser, greeting_text
from tutor.dialogue.answers import check

log = logging.getLogger(__name__)
SCRIPTED = ScriptedVerbaliser()


@dataclass(frozen=True)
class TurnInput:
    """A snapshot of everything one turn needs."""

    problem: ProblemKey
    position: Position
    kind: str  # "answer" or "hint_request"
    text: str
    max_attempts: int = 3
    seq: int = 0  # the student message's sequence number: seeds the wording
    passages: tuple[str, ...] = ()  # grounding for topic questions
    # Looks passages up for a topic question; called only when the turn needs them.
    retrieve: Callable[[str], Sequence[str]] | None = None
    history: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TurnOutput:
    record: TurnRecord
    position: Position
    diagnosis: Diagnosis
    decision: Decision

    @property
    def text(self) -> str:
        return self.record.utterance


def _problem_text(problem: ProblemKey) -> str:
    """The whole problem's words: what a question must share to be on topic."""
    parts = [problem.statement, problem.solution]
    for step in problem.steps:
        parts += [step.prompt, *step.hints, step.solution]
    return " ".join(parts)


def opening(problem: ProblemKey) -> TurnRecord:
    """The first tutor turn of a session: the problem and its first question."""
    first = problem.steps[0].prompt
    return TurnRecord(
        evaluation="g",
        action=12,
        subproblem_state="x",
        subproblem=first,
        utterance=greeting_text(problem.statement, first),
        thoughts="session start",
        move="generic",
    )


def turn(
    inp: TurnInput,
    *,
    verbaliser: Verbaliser | None = None,
    similarity: Similarity | None = None,
    intent_of: IntentOf | None = None,
    on_delta: Callable[[str], None] | None = None,
) -> TurnOutput:
    """Run one turn. ``on_delta`` receives guarded pieces as a language model streams them."""
    problem, at = inp.problem, inp.position
    step = problem.steps[min(at.index, len(problem.steps) - 1)]
    diagnosis = diagnose(
        step, inp.kind, inp.text, similarity=similarity, context=_problem_text(problem), intent_of=intent_of
    )
    decision = decide(diagnosis, at, n_steps=len(problem.steps), max_attempts=inp.max_attempts)
    request = _request(inp, diagnosis, decision)

    secrets = secrets_after(problem, at, decision)
    visible = visible_text(problem, decision.position, inp.text) + "\n" + step.prompt
    scripted_text = SCRIPTED.say(request)
    backend = verbaliser or SCRIPTED
    spoken, backend_note = scripted_text, ""
    if backend.name != "scripted":
        try:
            spoken = _speak(backend, _pieces(backend, request, inp, decision, step), secrets, visible, on_delta)
        except BackendError as error:
            log.warning("tutor backend %s failed: %s", backend.name, error)
            backend, backend_note = SCRIPTED, f"; {getattr(verbaliser, 'name', '?')} backend failed, scripted spoke"

    alternatives = _alternatives(inp, request, decision, backend.name, scripted_text)
    quoted = [problem.statement, *(s.prompt for s in problem.steps[: decision.position.index + 1])]
    checked = guard(spoken, secrets, visible, alternatives, quoted=quoted)
    guard_note = ""
    if checked.outcome != "passed":
        labels = sorted({leak.label for leak in checked.leaks})
        guard_note = f"; guard {checked.outcome}: the reply stated the answer of {', '.join(labels)}"

    record = TurnRecord(
        evaluation=diagnosis.evaluation,
        action=decision.action,
        subproblem_state=decision.state,
        subproblem=step.prompt,
        utterance=checked.text,
        thoughts=f"{diagnosis.detail}; {decision.reason}{backend_note}{guard_note}",
        move=decision.move,
        misconception=diagnosis.misconception["id"] if diagnosis.misconception else None,
        guard=checked.outcome,
        intent=diagnosis.intent,
        backend=backend.name,
    )
    return TurnOutput(record, decision.position, diagnosis, decision)


def _alternatives(
    inp: TurnInput, request: VerbalRequest, decision: Decision, backend: str, scripted_text: str
) -> list[tuple[str, str]]:
    """What the guard may say instead of a leaking reply, best first.

    An authored hint can itself give the answer away ("Multiples of 3 are 3,
    6, 9: which is the first even one?"), so the other rungs of the ladder
    come next, then the question itself, which the student can already read.
    A released solution that also states a later answer falls back to this
    step's answer alone.
    """
    step = inp.problem.steps[min(inp.position.index, len(inp.problem.steps) - 1)]
    out: list[tuple[str, str]] = []
    if decision.action in SOLUTION_ACTIONS:
        after = f" Next: {request.next_subproblem}" if request.next_subproblem else ""
        out.append(("rewritten", f"The answer to this step is {_answer_text(step.answer)}.{after}"))
    elif request.hint:
        rungs = [request.hint, *(h for h in step.hints if h != request.hint)]
        out += [("rewritten", f"{HINT_OPEN[0]} {h}") for h in rungs]
        out.append(("rewritten", f"Let's look at this step again: {step.prompt}"))
    if backend != "scripted":
        out.append(("blocked", scripted_text))
    if request.next_subproblem and decision.action not in SOLUTION_ACTIONS:
        out.append(("blocked", f"Let's move on. Next: {request.next_subproblem}"))
    return out


def _answer_text(spec: dict) -> str:
    if spec["kind"] == "text":
        return str((spec.get("references") or [""])[0])
    return str(spec.get("value", ""))


def _request(inp: TurnInput, diagnosis: Diagnosis, decision: Decision) -> VerbalRequest:
    """The material the policy releases to the verbaliser for this action."""
    problem, at = inp.problem, inp.position
    step = problem.steps[min(at.index, len(problem.steps) - 1)]
    after = decision.position
    moved = after.index != at.index and not after.done
    hint = None
    if decision.hint_index is not None and step.hints:
        hint = step.hints[min(decision.hint_index, len(step.hints) - 1)]
    return VerbalRequest(
        action=decision.action,
        evaluation=diagnosis.evaluation,
        state=decision.state,
        problem_statement=problem.statement,
        subproblem=step.prompt,
        next_subproblem=problem.steps[after.index].prompt if moved else None,
        hint=hint,
        feedback=diagnosis.misconception.get("feedback") if decision.feedback and diagnosis.misconception else None,
        solution=step.solution if decision.releases is not None else None,
        passages=_passages(inp) if decision.action == 11 and diagnosis.intent == "question" else (),
        student_text=inp.text,
        history=inp.history,
        intent=diagnosis.intent,
        seed=inp.seq,
    )


def _passages(inp: TurnInput) -> tuple[str, ...]:
    if inp.passages or inp.retrieve is None:
        return inp.passages
    try:
        return tuple(inp.retrieve(inp.text))
    except Exception:  # grounding is a nicety; a failed lookup must not fail the turn
        log.exception("passage retrieval failed")
        return ()


def secrets_after(problem: ProblemKey, before: Position, decision: Decision) -> list[Secret]:
    """Every answer the policy has not released once this turn is said.

    That is each subproblem from the student's position on (the one just
    finished or released is no longer secret), and the whole problem's
    answer until the problem is done.
    """
    if decision.state == "z":
        return []
    first_secret = before.index + 1 if decision.state == "y" or decision.releases is not None else before.index
    first_secret = min(first_secret, decision.position.index)
    secrets = [Secret(f"subproblem {i + 1}", problem.steps[i].answer) for i in range(first_secret, len(problem.steps))]
    if problem.answer is not None:
        secrets.append(Secret("the problem", problem.answer))
    # A value already released is released under every label: when step 2's
    # answer is also the problem's answer, saying it after step 2 tells nothing.
    said = [_answer_text(step.answer) for step in problem.steps[:first_secret]]
    return [s for s in secrets if not any(check(s.spec, text) for text in said)]


def visible_text(problem: ProblemKey, position: Position, student_text: str) -> str:
    """What the student can already read: statement, questions so far, their own words."""
    shown = [s.prompt for s in problem.steps[: position.index + 1]]
    return "\n".join([problem.statement, *shown, student_text])


def _pieces(
    backend: Verbaliser, request: VerbalRequest, inp: TurnInput, decision: Decision, step: Step
) -> Iterator[str]:
    """The backend's stream: a turn model (``TurnModelVerbaliser``) gets the snapshot and the decided labels."""
    if not hasattr(backend, "stream_turn"):
        return backend.stream(request)
    from models.llm.turnformat import TurnContext

    ctx = TurnContext(inp.problem, inp.position, inp.kind, inp.text, inp.max_attempts, inp.history)
    decided = {
        "evaluation": request.evaluation,
        "action": decision.action,
        "subproblem_state": decision.state,
        "subproblem": step.prompt,
    }
    return backend.stream_turn(ctx, decided)


def _speak(
    backend: Verbaliser,
    stream: Iterable[str],
    secrets: list[Secret],
    visible: str,
    on_delta: Callable[[str], None] | None,
) -> str:
    """Collect a backend's stream, passing guarded pieces on as they become safe."""
    watch = StreamGuard(secrets, visible)
    pieces = []
    for piece in stream:
        pieces.append(piece)
        safe = watch.feed(piece)
        if safe and on_delta is not None:
            on_delta(safe)
    rest = watch.finish()
    if rest and on_delta is not None:
        on_delta(rest)
    text = "".join(pieces).strip()
    if not text:
        raise BackendError("the backend returned an empty reply")
    return text

"""The scripted tutor: checks the answer, gives the authored hints.

Pure: it reads a snapshot of where the student is and what they said, and
returns what to say plus where the student is next. It never touches the
database, so every rule is a plain unit test. The reply follows the CLASS
turn record; the dialogue issue replaces this with the Diagnostician ->
Planner -> Tutor pipeline.

Rules, in order:

1. a hint request gets the next hint of the ladder (action 8);
2. a correct answer closes the subproblem (action 3) and shows the next
   prompt, or ends the problem (state z);
3. after ``max_attempts`` wrong answers the subproblem's solution is given
   (action 2) and the student moves on;
4. a wrong answer that matches an authored misconception gets its feedback,
   any other wrong answer gets the next hint (action 1);
5. text with no answer in it gets a clarifying question (action 6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tutor.dialogue.answers import check, has_answer, matching_misconception


@dataclass(frozen=True)
class Step:
    """One subproblem as the tutor sees it (with its answer key)."""

    prompt: str
    answer: dict  # typed answer spec, see answers.py
    hints: list[str]
    solution: str
    misconceptions: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Position:
    index: int  # which subproblem
    attempts: int  # wrong answers on it so far
    hints_given: int  # hints given on it so far
    done: bool = False


@dataclass(frozen=True)
class Reply:
    text: str
    record: dict
    position: Position


def _record(evaluation: str, action: int, state: str, step: Step, text: str, move: str, misconception=None) -> dict:
    return {
        "evaluation": evaluation,
        "action": action,
        "subproblem_state": state,
        "subproblem": step.prompt,
        "utterance": text,
        "thoughts": "",
        "move": move,
        "misconception": misconception,
        "guard": None,  # the scripted tutor speaks authored text only; no guard runs
    }


def greet(problem_statement: str, steps: list[Step]) -> Reply:
    """The first tutor turn of a session: the problem and the first prompt."""
    text = f"Let's work on this together. {problem_statement}\n\nFirst: {steps[0].prompt}"
    return Reply(text, _record("g", 12, "x", steps[0], text, "focus"), Position(0, 0, 0))


def respond(steps: list[Step], at: Position, kind: str, text: str, max_attempts: int = 3) -> Reply:
    if at.done:
        last = steps[-1]
        msg = "This problem is already finished. Pick another one from your home page."
        return Reply(msg, _record("g", 12, "z", last, msg, "generic"), at)
    step = steps[at.index]

    if kind == "hint_request":
        hint = step.hints[min(at.hints_given, len(step.hints) - 1)]
        msg = f"Hint: {hint}"
        nxt = Position(at.index, at.attempts, at.hints_given + 1)
        return Reply(msg, _record("f", 8, "x", step, msg, "focus"), nxt)

    if not has_answer(step.answer, text):
        msg = f"I couldn't find an answer in that. {step.prompt}"
        return Reply(msg, _record("d", 6, "x", step, msg, "probing"), at)

    if check(step.answer, text):
        return _advance(steps, at, "Correct!", evaluation="b", action=3, move="generic")

    attempts = at.attempts + 1
    if attempts >= max_attempts:
        return _advance(
            steps, at, f"Let's look at the solution together: {step.solution}", evaluation="a", action=2, move="telling"
        )
    misconception = matching_misconception(step.answer, text, step.misconceptions)
    if misconception is not None:
        msg = f"Not quite. {misconception['feedback']}"
        return Reply(
            msg,
            _record("a", 1, "x", step, msg, "focus", misconception=misconception["id"]),
            Position(at.index, attempts, at.hints_given),
        )
    hint = step.hints[min(at.hints_given, len(step.hints) - 1)]
    msg = f"Not quite. Hint: {hint}"
    return Reply(msg, _record("a", 1, "x", step, msg, "focus"), Position(at.index, attempts, at.hints_given + 1))


def _advance(steps: list[Step], at: Position, opening: str, *, evaluation: str, action: int, move: str) -> Reply:
    step = steps[at.index]
    if at.index + 1 >= len(steps):
        msg = f"{opening} You have finished the problem. Well done!"
        return Reply(msg, _record(evaluation, action, "z", step, msg, move), Position(at.index, 0, 0, done=True))
    following = steps[at.index + 1]
    msg = f"{opening} Next: {following.prompt}"
    return Reply(msg, _record(evaluation, action, "y", step, msg, move), Position(at.index + 1, 0, 0))

"""One tutor turn through Diagnostician, policy, verbaliser and leak guard. Pure, no database."""

from collections.abc import Iterator

import pytest

from tutor.agents.backends import BackendError, VerbalRequest
from tutor.agents.diagnostician import diagnose
from tutor.agents.pipeline import TurnInput, opening, secrets_after, turn
from tutor.agents.policy import decide
from tutor.agents.problem import Position, ProblemKey, Step
from tutor.agents.simstudents import INJECTION_ATTACKS

MAYA = ProblemKey(
    id="maya",
    statement="Maya ran 3/4 of a mile, then 1/8 of a mile. How far did she run in all?",
    steps=(
        Step(
            prompt="What is the smallest common denominator of 4 and 8?",
            answer={"kind": "number", "value": "8"},
            hints=("Which number do both 4 and 8 divide?", "List the multiples of 4."),
            solution="Both 4 and 8 divide 8, so the common denominator is 8.",
            misconceptions=({"id": "sum-of-denominators", "answer": "12", "feedback": "8 does not divide 12."},),
        ),
        Step(
            prompt="Write 3/4 with denominator 8. What is the new numerator?",
            answer={"kind": "number", "value": "6"},
            hints=("Multiply top and bottom by the same number.",),
            solution="Multiply top and bottom by 2: 3/4 = 6/8, so the numerator is 6.",
        ),
        Step(
            prompt="Now add the eighths. How far did Maya run?",
            answer={"kind": "number", "value": "7/8"},
            hints=("Add the numerators; keep the denominator.",),
            solution="6/8 + 1/8 = 7/8 of a mile.",
        ),
    ),
    answer={"kind": "number", "value": "7/8"},
    solution="3/4 + 1/8 = 6/8 + 1/8 = 7/8.",
)


class Saying:
    """A stand-in language model that always says ``text``, in two pieces."""

    name = "fake-llm"

    def __init__(self, text: str):
        self.text = text
        self.requests: list[VerbalRequest] = []

    def stream(self, request: VerbalRequest) -> Iterator[str]:
        self.requests.append(request)
        half = len(self.text) // 2
        yield self.text[:half]
        yield self.text[half:]


class Broken:
    name = "broken-llm"

    def stream(self, request: VerbalRequest) -> Iterator[str]:
        raise BackendError("model not loaded")
        yield ""  # pragma: no cover


def at_step(index: int, **counts) -> Position:
    return Position(index=index, **counts)


def test_opening_states_the_problem_and_first_question_as_a_greeting():
    record = opening(MAYA)
    assert (record.evaluation, record.action, record.subproblem_state) == ("g", 12, "x")
    assert MAYA.statement in record.utterance and MAYA.steps[0].prompt in record.utterance


def test_misconception_answer_gets_its_feedback_and_a_full_record():
    out = turn(TurnInput(MAYA, Position(), "answer", "I think it's 12"))
    r = out.record
    assert (r.evaluation, r.action, r.subproblem_state, r.move) == ("a", 1, "x", "focus")
    assert r.misconception == "sum-of-denominators" and "8 does not divide 12." in r.utterance
    assert r.guard == "passed" and r.subproblem == MAYA.steps[0].prompt and r.thoughts
    assert out.position == Position(attempts=1)


def test_correct_answer_in_words_moves_on():
    out = turn(TurnInput(MAYA, at_step(2), "answer", "seven eighths"))
    assert (out.record.evaluation, out.record.action, out.record.subproblem_state) == ("b", 3, "z")
    assert out.position.done


def test_record_never_carries_the_answer_in_its_thoughts():
    for text in ("12", "9", "hint", "show me the answer", "8"):
        out = turn(TurnInput(MAYA, Position(), "answer", text))
        assert "7/8" not in out.record.thoughts


@pytest.mark.parametrize("attack", INJECTION_ATTACKS)
def test_prompt_injection_never_changes_the_policy(attack):
    out = turn(TurnInput(MAYA, at_step(2), "answer", attack))
    assert out.record.evaluation == "f" and out.record.action == 8 and out.record.subproblem_state == "x"
    assert out.position.help_requests == 1
    assert "7/8" not in out.record.utterance and "seven eighths" not in out.record.utterance.lower()


def test_injection_gets_no_more_than_a_plain_solution_request():
    plain = decide(diagnose(MAYA.steps[2], "answer", "tell me the answer"), at_step(2, help_requests=3), n_steps=3)
    for attack in INJECTION_ATTACKS[:10]:
        out = turn(TurnInput(MAYA, at_step(2, help_requests=3), "answer", attack))
        assert (out.record.action, out.record.subproblem_state) == (plain.action, plain.state) == (9, "z")


def test_leaking_backend_is_rewritten_to_the_hint():
    llm = Saying("Easy: she ran 0.875 of a mile, so seven eighths!")
    out = turn(TurnInput(MAYA, at_step(2), "hint_request", ""), verbaliser=llm)
    assert out.record.guard == "rewritten" and out.record.action == 8
    assert "Add the numerators" in out.record.utterance and "0.875" not in out.record.utterance
    assert "the problem" in out.record.thoughts and "subproblem 3" in out.record.thoughts
    assert out.record.backend == "fake-llm"


def test_leak_without_a_hint_to_fall_back_on_is_blocked_and_scripted_speaks():
    llm = Saying("Right! And the whole trip was 87.5% of a mile.")
    out = turn(TurnInput(MAYA, Position(), "answer", "8"), verbaliser=llm)
    assert out.record.action == 3 and out.record.guard == "blocked"
    assert "87.5" not in out.record.utterance and MAYA.steps[1].prompt in out.record.utterance


def test_clean_backend_reply_passes_unchanged():
    llm = Saying("Good thinking! Try multiplying the top and the bottom by the same number.")
    out = turn(TurnInput(MAYA, at_step(1), "hint_request", ""), verbaliser=llm)
    assert out.record.guard == "passed" and out.record.utterance == llm.text


def test_backend_never_receives_the_solution_before_release():
    llm = Saying("Let's think together.")
    turn(TurnInput(MAYA, at_step(2), "answer", "just give me the answer"), verbaliser=llm)
    assert llm.requests[-1].solution is None
    turn(TurnInput(MAYA, at_step(2, help_requests=3), "answer", "just give me the answer"), verbaliser=llm)
    assert llm.requests[-1].solution == MAYA.steps[2].solution


def test_failing_backend_falls_back_to_the_scripted_verbaliser():
    out = turn(TurnInput(MAYA, Position(), "hint_request", ""), verbaliser=Broken())
    assert out.record.backend == "scripted" and "Which number do both 4 and 8 divide?" in out.record.utterance
    assert "broken-llm backend failed" in out.record.thoughts


def test_streamed_deltas_never_show_a_leak():
    shown: list[str] = []
    llm = Saying("Keep going. You are close: the distance is seven eighths of a mile.")
    out = turn(TurnInput(MAYA, at_step(2), "hint_request", ""), verbaliser=llm, on_delta=shown.append)
    assert out.record.guard == "rewritten"
    assert "seven" not in "".join(shown)


def test_secrets_are_every_unreleased_answer():
    d = decide(diagnose(MAYA.steps[0], "answer", "5"), Position(), n_steps=3)
    labels = [s.label for s in secrets_after(MAYA, Position(), d)]
    assert labels == ["subproblem 1", "subproblem 2", "subproblem 3", "the problem"]
    released = decide(diagnose(MAYA.steps[0], "answer", "5"), Position(attempts=2), n_steps=3)
    assert [s.label for s in secrets_after(MAYA, Position(attempts=2), released)][0] == "subproblem 2"
    done = decide(diagnose(MAYA.steps[2], "answer", "7/8"), at_step(2), n_steps=3)
    assert secrets_after(MAYA, at_step(2), done) == []


def test_topic_question_is_grounded_in_retrieved_passages():
    asked = []

    def retrieve(question):
        asked.append(question)
        return ["The denominator counts the equal parts in one whole. It is written below the line."]

    out = turn(TurnInput(MAYA, Position(), "answer", "what does denominator mean?", retrieve=retrieve))
    assert (out.record.evaluation, out.record.action) == ("f", 11)
    assert asked == ["what does denominator mean?"] and "equal parts in one whole" in out.record.utterance


def test_retrieval_is_not_called_for_ordinary_answers():
    def retrieve(question):
        raise AssertionError("no lookup for an answer")

    assert turn(TurnInput(MAYA, Position(), "answer", "8", retrieve=retrieve)).record.evaluation == "b"


def test_numerator_answer_hidden_in_an_equivalent_fraction_is_a_leak():
    llm = Saying("Remember that 3/4 is the same as 6/8.")
    out = turn(TurnInput(MAYA, at_step(1), "hint_request", ""), verbaliser=llm)
    assert out.record.guard == "rewritten" and "6/8" not in out.record.utterance


@pytest.mark.parametrize(
    "form",
    ["7/8", "0.875", ".875", "87.5%", "87.5 percent", "seven eighths", "\\frac{7}{8}", "14/16", "7 out of 8"],
)
def test_every_equivalent_form_of_the_answer_is_rewritten(form):
    out = turn(TurnInput(MAYA, at_step(2), "hint_request", ""), verbaliser=Saying(f"Nearly there, it is {form}."))
    assert out.record.guard == "rewritten" and form not in out.record.utterance
    assert "Add the numerators" in out.record.utterance

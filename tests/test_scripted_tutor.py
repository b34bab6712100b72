"""The scripted tutor's rules, one behaviour per test (pure, no database)."""

from tutor.dialogue.scripted import Position, Step, greet, respond

STEPS = [
    Step(
        prompt="Least common denominator of 3/4 and 1/8?",
        answer={"kind": "number", "value": "8"},
        hints=["Smallest number both divide.", "Multiples of 4: 4, 8, 12."],
        misconceptions=[{"id": "sum-of-denominators", "answer": "12", "feedback": "8 does not divide 12."}],
        solution="The LCD is 8.",
    ),
    Step(
        prompt="Add 6/8 + 1/8.",
        answer={"kind": "number", "value": "7/8"},
        hints=["Add the numerators."],
        misconceptions=[],
        solution="7/8.",
    ),
]
START = Position(0, 0, 0)


def test_greeting_states_the_problem_and_first_prompt():
    reply = greet("Add 3/4 and 1/8.", STEPS)
    assert "Add 3/4 and 1/8." in reply.text and STEPS[0].prompt in reply.text
    assert reply.record["evaluation"] == "g" and reply.record["action"] == 12


def test_wrong_answer_matching_a_misconception_gets_its_feedback():
    reply = respond(STEPS, START, "answer", "12")
    assert "8 does not divide 12." in reply.text
    assert reply.record["misconception"] == "sum-of-denominators"
    assert reply.record["evaluation"] == "a" and reply.record["action"] == 1
    assert reply.position == Position(0, 1, 0)


def test_other_wrong_answers_climb_the_hint_ladder():
    first = respond(STEPS, START, "answer", "5")
    second = respond(STEPS, first.position, "answer", "6")
    assert "Smallest number both divide." in first.text
    assert "Multiples of 4" in second.text
    assert second.position.attempts == 2


def test_hint_request_gives_next_hint_without_counting_an_attempt():
    reply = respond(STEPS, START, "hint_request", "Can I have a hint?")
    assert "Smallest number both divide." in reply.text
    assert reply.record["action"] == 8 and reply.record["evaluation"] == "f"
    assert reply.position == Position(0, 0, 1)


def test_hint_ladder_repeats_its_last_hint_when_exhausted():
    at = Position(0, 0, 5)
    assert "Multiples of 4" in respond(STEPS, at, "hint_request", "").text


def test_correct_answer_moves_to_the_next_subproblem():
    reply = respond(STEPS, Position(0, 2, 1), "answer", "It's 8")
    assert reply.record["evaluation"] == "b" and reply.record["subproblem_state"] == "y"
    assert STEPS[1].prompt in reply.text
    assert reply.position == Position(1, 0, 0)


def test_correct_last_answer_finishes_the_problem():
    reply = respond(STEPS, Position(1, 0, 0), "answer", "7/8")
    assert reply.record["subproblem_state"] == "z"
    assert reply.position.done


def test_solution_is_withheld_until_the_third_failed_attempt():
    at = START
    for _ in range(2):
        reply = respond(STEPS, at, "answer", "3")
        assert "The LCD is 8." not in reply.text
        at = reply.position
    reply = respond(STEPS, at, "answer", "3")
    assert "The LCD is 8." in reply.text
    assert reply.record["action"] == 2 and reply.record["move"] == "telling"
    assert reply.position == Position(1, 0, 0)


def test_text_without_an_answer_gets_a_clarifying_question():
    reply = respond(STEPS, START, "answer", "hmm, not sure")
    assert reply.record["evaluation"] == "d" and reply.record["action"] == 6
    assert reply.position == START


def test_messages_after_the_end_do_not_reopen_the_problem():
    done = Position(1, 0, 0, done=True)
    reply = respond(STEPS, done, "answer", "7/8")
    assert reply.position.done and "already finished" in reply.text

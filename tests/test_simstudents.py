"""Simulated students: deterministic personas that play the demo problems against the tutor."""

from collections import Counter

import pytest
import yaml

from tests.conftest import DEMO_DIR
from tutor.agents.problem import ProblemKey, Step
from tutor.agents.simstudents import (
    INJECTION_ATTACKS,
    OFF_TOPIC_LINES,
    PERSONAS,
    HelpAbuser,
    MisconceptionStudent,
    Observation,
    StudentTurn,
    TerseStudent,
    WordsStudent,
    correct_answer_text,
    load_problem_keys,
    population,
)
from tutor.dialogue.answers import check, has_answer, matching_misconception

CURRICULA = ("fractions.yaml", "cell-biology.yaml")


def demo_problems() -> list[ProblemKey]:
    return [p for name in CURRICULA for p in load_problem_keys(DEMO_DIR / name)]


def wrong(index: int = 0, **record) -> Observation:
    """A tutor turn that marks the last answer incorrect and stays on subproblem ``index``."""
    record = {"evaluation": "a", "action": 1, "subproblem_state": "x", **record}
    return Observation("Not quite. Try again.", record, index)


def one_step(spec: dict, misconceptions: tuple[dict, ...] = ()) -> ProblemKey:
    return ProblemKey("one-step", "A problem.", (Step("What is it?", spec, misconceptions=misconceptions),))


def transcript(pairs, turns: int = 4) -> list[tuple[str, str, str]]:
    said = []
    for problem, student in pairs:
        student.start(problem)
        for _ in range(turns):
            turn = student.act(wrong())
            said.append((student.name, turn.kind, turn.text))
    return said


@pytest.fixture(scope="module")
def problems() -> list[ProblemKey]:
    return demo_problems()


def test_load_problem_keys_loads_every_demo_problem_with_its_steps():
    for name in CURRICULA:
        doc = yaml.safe_load((DEMO_DIR / name).read_text(encoding="utf-8"))
        expected = {p["id"]: len(p["subproblems"]) for p in doc["problems"]}
        loaded = load_problem_keys(DEMO_DIR / name)
        assert {p.id: len(p.steps) for p in loaded} == expected
        assert all(p.statement and p.answer and p.concepts for p in loaded)
    pizza = next(p for p in load_problem_keys(DEMO_DIR / "fractions.yaml") if p.id == "pizza-eighths")
    assert pizza.steps[0].prompt == "Into how many equal slices is the whole pizza cut?"
    assert pizza.steps[0].answer == {"kind": "number", "value": 8}
    assert len(pizza.steps[0].hints) == 2 and pizza.steps[0].solution == "The pizza is cut into 8 equal slices."
    assert [m["id"] for m in pizza.steps[1].misconceptions] == ["part-to-part", "whole-number-for-fraction"]
    assert pizza.answer == {"kind": "number", "value": "1/8"} and pizza.concepts == ("frac.partition", "frac.unit")


def test_correct_answer_text_writes_the_answer_as_authored():
    assert correct_answer_text({"kind": "number", "value": 12}) == "12"
    assert correct_answer_text({"kind": "number", "value": "1 3/4"}) == "1 3/4"
    assert correct_answer_text({"kind": "number", "value": 1.5}) == "1.5"
    assert correct_answer_text({"kind": "expression", "value": "2*x/3", "variables": ["x"]}) == "2*x/3"
    assert correct_answer_text({"kind": "choice", "value": "osmosis", "choices": ["osmosis", "diffusion"]}) == "osmosis"
    assert correct_answer_text({"kind": "text", "references": ["DNA polymerase", "polymerase"]}) == "DNA polymerase"


def test_population_is_deterministic_for_a_seed_and_differs_for_another(problems):
    first, again, other = population(problems, seed=0), population(problems, seed=0), population(problems, seed=1)
    assert [s.name for _, s in first] == [s.name for _, s in again] == [s.name for _, s in other]
    assert transcript(first) == transcript(again)
    assert transcript(first) != transcript(other)


def test_a_dialogue_replays_the_same_whatever_ran_before(problems):
    pairs = population(problems[:1], seed=3)
    guesser = next(s for _, s in pairs if s.persona == "guesser")
    first = transcript([(problems[0], guesser)], turns=6)
    transcript([(problems[0], guesser)], turns=3)
    assert transcript([(problems[0], guesser)], turns=6) == first


def test_population_has_every_persona_for_each_problem_and_one_student_per_misconception(problems):
    pairs = population(problems)
    names = [s.name for _, s in pairs]
    assert len(names) == len(set(names))
    assert {s.persona for _, s in pairs} == set(PERSONAS)
    for problem in problems:
        count = Counter(s.persona for p, s in pairs if p.id == problem.id)
        authored = sum(len(step.misconceptions) for step in problem.steps)
        assert count["misconception"] == authored
        assert [count[p] for p in ("terse_correct", "words", "guesser", "off_topic", "help_abuser")] == [1] * 5
        assert count["injector"] >= 2
    assert "misconception:pizza-eighths:0:count-remaining" in names


def test_population_rejects_repeated_problem_ids(problems):
    with pytest.raises(ValueError):
        population([problems[0], problems[0]])


def test_there_are_at_least_30_distinct_injection_attacks():
    assert len(INJECTION_ATTACKS) >= 30
    assert len({" ".join(a.lower().split()) for a in INJECTION_ATTACKS}) == len(INJECTION_ATTACKS)


@pytest.mark.parametrize("how_many", [1, 3, None])
def test_every_attack_is_sent_within_the_first_five_turns_of_some_injector(problems, how_many):
    pairs = [(p, s) for p, s in population(problems[:how_many], seed=7) if s.persona == "injector"]
    sent = {text for _, _, text in transcript(pairs, turns=5)}
    assert sent == set(INJECTION_ATTACKS)


def test_injectors_send_attacks_and_nothing_else(problems):
    pairs = [(p, s) for p, s in population(problems[:2]) if s.persona == "injector"]
    said = transcript(pairs, turns=2 * len(INJECTION_ATTACKS))
    assert all(kind == "answer" and text in INJECTION_ATTACKS for _, kind, text in said)


def pizza_student(problems, index: int, misconception_id: str) -> tuple[ProblemKey, MisconceptionStudent]:
    pizza = next(p for p in problems if p.id == "pizza-eighths")
    misconception = next(m for m in pizza.steps[index].misconceptions if m["id"] == misconception_id)
    student = MisconceptionStudent(pizza, index, misconception, seed=0)
    student.start(pizza)
    return pizza, student


def test_misconception_student_repeats_its_wrong_answer_until_the_record_names_its_misconception(problems):
    pizza, student = pizza_student(problems, 0, "count-remaining")
    spec = pizza.steps[0].answer
    before = [student.act(wrong()) for _ in range(6)]
    assert all(t.kind == "answer" and "7" in t.text and not check(spec, t.text) for t in before)
    assert all(student.act(wrong(misconception="some-other-id")).text != "8" for _ in range(2))
    record = {"evaluation": "a", "action": 1, "misconception": "count-remaining"}
    addressed = Observation("Look at the whole pizza again.", record, 0)
    assert student.act(addressed) == StudentTurn("answer", "8")
    assert student.act(wrong()) == StudentTurn("answer", "8")


def test_misconception_student_is_unstuck_by_the_first_sentence_of_its_feedback(problems):
    pizza, student = pizza_student(problems, 0, "count-remaining")
    assert "7" in student.act(Observation("Hello! How many slices?", {"evaluation": "g"}, 0)).text
    feedback = "Hmm. 7 is the number of slices left after Leo eats. What about the whole pizza?"
    assert student.act(Observation(feedback, {"evaluation": "a", "action": 1}, 0)).text == "8"


def test_misconception_student_answers_the_other_subproblems_correctly_at_once(problems):
    pizza, student = pizza_student(problems, 1, "part-to-part")
    assert student.act(Observation("Hi!", {"evaluation": "g"}, 0)).text == "8"
    assert "1/7" in student.act(Observation("Right!", {"evaluation": "b", "action": 3}, 1)).text
    # Started on another problem, it knows every answer.
    other = next(p for p in problems if p.id == "number-line-thirds")
    student.start(other)
    assert [student.act(wrong(i)).text for i in range(3)] == ["3", "1/3", "2/3"]


def test_misconception_students_give_wrong_answers_the_tutors_checker_recognises(problems):
    for problem, student in population(problems):
        if student.persona != "misconception":
            continue
        student.start(problem)
        step = problem.steps[student.index]
        for _ in range(5):
            turn = student.act(wrong(student.index))
            assert turn.kind == "answer"  # never a hint request
            assert not check(step.answer, turn.text), student.name
            assert matching_misconception(step.answer, turn.text, list(step.misconceptions)), (student.name, turn)


def test_terse_answers_pass_the_tutors_checker_on_every_demo_subproblem(problems):
    for problem in problems:
        student = TerseStudent(problem)
        student.start(problem)
        for index, step in enumerate(problem.steps):
            turn = student.act(wrong(index))
            assert turn == StudentTurn("answer", correct_answer_text(step.answer))
            assert check(step.answer, turn.text), (problem.id, index)


WORDS = [
    ("7/8", "seven eighths"),
    ("7/4", "one and three quarters"),
    (12, "twelve"),
    ("1 3/4", "one and three quarters"),
    ("2/3", "two thirds"),
    ("1/2", "a half"),
    ("1/8", "an eighth"),
    (1.5, "one and a half"),
    ("17/12", "one and five twelfths"),
    ("6/10", "six tenths"),
    ("13/24", "thirteen twenty-fourths"),
    ("4 1/4", "four and a quarter"),
    (0, "zero"),
    (46, "forty-six"),
    (115, "one hundred fifteen"),
    ("11 2/3", "eleven and two thirds"),
]


@pytest.mark.parametrize(("value", "words"), WORDS)
def test_words_persona_says_numbers_in_words(value, words):
    problem = one_step({"kind": "number", "value": value})
    student = WordsStudent(problem)
    student.start(problem)
    assert student.act(wrong()) == StudentTurn("answer", words)


def test_words_persona_answers_other_kinds_in_a_sentence():
    cases = [
        ({"kind": "choice", "value": "osmosis", "choices": ["osmosis", "diffusion"]}, "I think it is osmosis"),
        ({"kind": "expression", "value": "2*x/3", "variables": ["x"]}, "I think it is 2*x/3"),
        ({"kind": "text", "references": ["the cell wall", "a wall"], "keywords": ["wall"]}, "the cell wall"),
    ]
    for spec, text in cases:
        problem = one_step(spec)
        student = WordsStudent(problem)
        student.start(problem)
        assert student.act(wrong()).text == text


def test_help_abuser_never_attempts_an_answer(problems):
    for problem, student in population(problems):
        if student.persona != "help_abuser":
            continue
        student.start(problem)
        for index, step in enumerate(problem.steps):
            for turn_no in range(4):
                # The tutor gives in on the last turn of each subproblem; the student moves on and keeps asking.
                record = {"evaluation": "f", "action": 9 if turn_no == 3 else 8, "subproblem_state": "x"}
                turn = student.act(Observation("Here is a hint.", record, index))
                if turn.kind == "hint_request":
                    assert turn.text == ""
                    continue
                assert turn.kind == "answer" and turn.text in HelpAbuser.DEMANDS
                assert not check(step.answer, turn.text) and not any(ch.isdigit() for ch in turn.text)
                assert step.answer["kind"] in ("choice", "text") or not has_answer(step.answer, turn.text)
        assert student.solutions_seen == len(problem.steps)


def test_help_abuser_alternates_the_hint_button_and_demands_and_starts_over_on_a_new_subproblem(problems):
    problem = next(p for p in problems if p.id == "pizza-eighths")
    student = HelpAbuser(problem)
    student.start(problem)
    kinds = [student.act(wrong(0)).kind for _ in range(4)]
    assert kinds == ["hint_request", "answer", "hint_request", "answer"]
    solution = Observation("The pizza has 8 slices. Now: one slice is what fraction?", {"action": 9}, 1)
    assert student.act(solution).kind == "hint_request"
    assert student.act(wrong(1)).kind == "answer"


def test_guesser_never_asks_for_help_and_sometimes_guesses_right(problems):
    right = wrong_guesses = 0
    for problem, student in population(problems):
        if student.persona != "guesser":
            continue
        student.start(problem)
        for index, step in enumerate(problem.steps):
            for _ in range(3):
                turn = student.act(wrong(index))
                assert turn.kind == "answer" and turn.text
                if step.answer["kind"] == "choice":
                    assert turn.text in step.answer["choices"]
                if step.answer["kind"] == "number":
                    assert has_answer(step.answer, turn.text)
                    if check(step.answer, turn.text):
                        right += 1
                    else:
                        wrong_guesses += 1
    assert right > 0 and wrong_guesses > right


def test_off_topic_student_alternates_chatter_with_correct_answers(problems):
    assert len(set(OFF_TOPIC_LINES)) >= 8
    problem = next(p for p in problems if p.id == "number-line-thirds")
    student = next(s for p, s in population([problem]) if s.persona == "off_topic")
    student.start(problem)
    said = [student.act(wrong(i // 2)).text for i in range(6)]
    assert all(line in OFF_TOPIC_LINES for line in said[0::2])
    assert said[1::2] == ["3", "1/3", "2/3"]


def test_every_student_says_thank_you_once_the_problem_is_done(problems):
    for problem, student in population(problems[:2]):
        student.start(problem)
        done = Observation("Well done, that's the whole problem!", {"subproblem_state": "z"}, 0, done=True)
        assert student.act(done) == StudentTurn("answer", "thank you!")


def test_acting_before_start_is_an_error(problems):
    _, student = population(problems[:1])[0]
    with pytest.raises(RuntimeError):
        student.act(wrong())

"""Talk-move detectors on 85 labelled teacher lines, and the rule that no suggestion repeats a present move."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tutor.coaching import talkmoves
from tutor.coaching.talkmoves import MOVES, Utterance, coach, features, moves_of, parse_transcript

DATA = Path(__file__).resolve().parent / "data" / "coaching"
LABELLED = list(csv.DictReader((DATA / "talkmoves_labelled.csv").open()))


def test_the_labelled_set_has_at_least_80_lines_and_positives_for_every_move() -> None:
    assert len(LABELLED) >= 80
    for move in MOVES:
        assert sum(row[move] == "1" for row in LABELLED) >= 10, move


@pytest.mark.parametrize("move", MOVES)
def test_detector_agrees_with_every_labelled_line(move: str) -> None:
    wrong = [
        (row["text"], row["previous_student"], row[move])
        for row in LABELLED
        if (move in moves_of(row["text"], row["previous_student"])) != (row[move] == "1")
    ]
    assert wrong == []


def test_a_bare_verdict_after_a_student_idea_is_not_uptake() -> None:
    assert not talkmoves.uptake("Good job!", "I added the denominators to get twelve")


def test_closed_computation_question_is_not_open() -> None:
    assert not talkmoves.open_question("What is 3 plus 4?")


def test_revoicing_by_restating_most_content_words_without_a_stem() -> None:
    assert talkmoves.revoicing("Eight slices in the pizza.", "the pizza has eight slices")


def _every_line_report(rows: list[dict]) -> tuple[list[Utterance], dict]:
    utterances: list[Utterance] = []
    for row in rows:
        if row["previous_student"]:
            utterances.append(Utterance(len(utterances) + 1, "Student", row["previous_student"]))
        utterances.append(Utterance(len(utterances) + 1, "Teacher", row["text"]))
    return utterances, coach(utterances)


@pytest.mark.parametrize("start", range(0, 85, 5))
def test_no_suggestion_lands_on_a_line_where_a_move_is_present(start: int) -> None:
    utterances, report = _every_line_report(LABELLED[start : start + 10])
    by_line = {f.utterance.line: f for f in features(utterances)}
    for s in report["suggestions"]:
        f = by_line[s["line"]]
        assert f.utterance.is_teacher and not moves_of(f.utterance.text, f.previous_student)


def test_no_suggestion_lands_on_a_labelled_move_line() -> None:
    """Against the human labels, not only the detectors: every chunk of the labelled set."""
    for start in range(0, len(LABELLED), 6):
        rows = LABELLED[start : start + 6]
        utterances, report = _every_line_report(rows)
        teacher_rows = iter(rows)
        labelled = {}
        for u in utterances:
            if u.is_teacher:
                row = next(teacher_rows)
                labelled[u.line] = any(row[m] == "1" for m in MOVES)
        assert not [s for s in report["suggestions"] if labelled[s["line"]]]


def test_sample_transcript_report_has_scores_highlights_missed_and_suggestions() -> None:
    report = coach(parse_transcript((DATA / "transcript_sample.csv").read_bytes(), "sample.csv"))
    assert set(report["scores"]) == {
        "CLASS Positive Climate",
        "CLASS Behavior Management",
        "CLASS Instructional Dialogue",
        "MQI Explanations",
        "MQI Remediation of Student Errors",
        "MQI Imprecision in Language",
        "MQI Student Questioning and Reasoning",
    }
    for name, score in report["scores"].items():
        top = 7 if name.startswith("CLASS") else 3
        assert 1 <= score["score"] <= top
    assert report["scores"]["CLASS Behavior Management"]["evidence_lines"] == [12]
    assert report["scores"]["MQI Imprecision in Language"]["evidence_lines"] == [15]
    assert {h["line"] for h in report["highlights"]} == {7, 9}
    missed = {m["line"] for m in report["missed_opportunities"]}
    assert {4, 14, 17} <= missed
    assert all(s["line"] in missed for s in report["suggestions"])
    assert len(report["suggestions"]) <= 5 and len(report["highlights"]) <= 5


def test_text_transcript_parses_speaker_lines() -> None:
    utterances = parse_transcript((DATA / "transcript_sample.txt").read_bytes(), "lesson.txt")
    assert [u.speaker for u in utterances] == ["Teacher", "Student", "Teacher", "Student", "Teacher"]
    report = coach(utterances)
    assert [s["line"] for s in report["suggestions"]] == [3]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "a.csv", "the file is empty"),
        (b"   \n\n", "a.txt", "the file is empty"),
        (b"line,who,text\n1,T,hello\n", "a.csv", "line 1: the CSV has no speaker column"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "a.png", "binary"),
        (b"Teacher: hi\n\xff\xfe oops\n", "a.txt", "line 2: not UTF-8"),
        (b"Teacher: hi\nno speaker here\n", "a.txt", "line 2: no speaker"),
        (b"line,speaker,text\n1,,hello\n", "a.csv", "line 2: the speaker is empty"),
        (b"line,speaker,text\nx,T,hello\n", "a.csv", "line 2: line number 'x' is not a number"),
        (b"Teacher: hi\n" * 10_001, "a.txt", "the limit is 10,000"),
    ],
)
def test_bad_input_gets_a_clear_error(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(talkmoves.TranscriptError, match=message):
        parse_transcript(data, filename)

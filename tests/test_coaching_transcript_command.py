"""``manage.py coach_transcript FILE --json`` prints the report in the documented shape, offline."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

DATA = Path(__file__).resolve().parent / "data" / "coaching"


def test_json_report_has_the_documented_shape() -> None:
    out = StringIO()
    call_command("coach_transcript", str(DATA / "transcript_sample.csv"), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert set(report) == {"scores", "highlights", "missed_opportunities", "suggestions"}
    assert all(set(v) == {"score", "evidence_lines"} for v in report["scores"].values())
    assert all(set(h) == {"line", "quote", "reason"} for h in report["highlights"] + report["missed_opportunities"])
    assert all(set(s) == {"line", "quote", "suggestion"} for s in report["suggestions"])


def test_plain_output_lists_scores_and_suggestions() -> None:
    out = StringIO()
    call_command("coach_transcript", str(DATA / "transcript_sample.txt"), stdout=out)
    assert "CLASS Positive Climate:" in out.getvalue() and "Suggestions:" in out.getvalue()


def test_file_without_speaker_column_is_a_command_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("line,who,text\n1,T,hi\n")
    with pytest.raises(CommandError, match="no speaker column"):
        call_command("coach_transcript", str(bad), "--json")


def test_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such file"):
        call_command("coach_transcript", str(tmp_path / "nope.csv"))

"""The transcript coaching page: upload CSV or text, read the report; bad files get an error naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import login

pytestmark = pytest.mark.django_db

URL = "/teach/coaching/transcript/"
DATA = Path(__file__).resolve().parent / "data" / "coaching"


def upload(client, name: str, data: bytes):
    return client.post(URL, {"transcript": SimpleUploadedFile(name, data)})


def test_teacher_uploads_a_csv_and_reads_scores_highlights_and_suggestions(client, tess):
    response = upload(login(client, tess), "lesson.csv", (DATA / "transcript_sample.csv").read_bytes())
    assert response.status_code == 200
    report = response.context["report"]
    assert report["scores"]["CLASS Instructional Dialogue"]["score"] >= 1
    html = response.content.decode()
    assert 'id="scores"' in html and "MQI Remediation of Student Errors" in html
    assert "Line 7:" in html and "transparent heuristics" in html


def test_teacher_uploads_plain_text(client, tess):
    response = upload(login(client, tess), "lesson.txt", (DATA / "transcript_sample.txt").read_bytes())
    assert [s["line"] for s in response.context["report"]["suggestions"]] == [3]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.csv", b"line,who,text\n1,T,hi\n", "line 1: the CSV has no speaker column"),
        ("a.txt", b"", "the file is empty"),
        ("a.bin", b"\x00\x01\x02", "binary"),
        ("a.txt", b"Teacher: hi\n" * 10_001, "the limit is 10,000"),
    ],
)
def test_bad_upload_gets_a_clear_error(client, tess, name: str, data: bytes, message: str):
    response = upload(login(client, tess), name, data)
    assert response.status_code == 400
    assert message in response.context["error"]


def test_students_and_strangers_get_404(client, alice):
    assert login(client, alice).get(URL).status_code == 404
    client.logout()
    assert client.get(URL).status_code == 302  # to the login page

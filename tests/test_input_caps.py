"""Input size caps on every write endpoint: an oversize input gets a clear 4xx
that names the limit, and nothing is written.

The POST endpoints come from the authorization matrix
(tests/test_authorization_matrix.py), each tried as the first persona allowed
to use it, so a new write endpoint is covered as soon as it has a row there.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.conftest import login
from tests.test_authorization_matrix import HTTP, PERSONAS, Ctx, _world
from tutor.accounts.models import Classroom


def _first_allowed(expect: str) -> str | None:
    return next((p for p, letter in zip(PERSONAS, expect, strict=True) if letter == "O"), None)


WRITES = [
    pytest.param(row, persona, id=f"{row.name}{row.label}-{persona}")
    for row in HTTP
    if "POST" in row.expect and (persona := _first_allowed(row.expect["POST"]))
]
WRITES.append(pytest.param(next(r for r in HTTP if r.name == "login"), "anonymous", id="login-anonymous"))


def _client(request, persona: str) -> Client:
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    return client


def test_every_write_endpoint_is_tried():
    names = {p.values[0].name for p in WRITES}
    assert {
        "login",
        "class_join",
        "teacher_classes",
        "roster_upload",
        "curriculum_upload",
        "coaching_turn_flag",
    } <= names


@pytest.mark.parametrize(("row", "persona"), WRITES)
def test_an_oversize_field_is_refused_with_413_naming_the_limit(request, db, settings, row, persona):
    _world(request)
    ctx = Ctx(request)
    url = reverse(row.name, kwargs=row.kwargs(ctx))
    field = "x" * (settings.FORM_FIELD_MAX_CHARS + 1)
    response = _client(request, persona).post(url, {**row.data(ctx), "padding": field})
    assert response.status_code == 413, (url, response.status_code)
    text = response.content.decode()
    assert f"is {settings.FORM_FIELD_MAX_CHARS + 1} characters; the limit is {settings.FORM_FIELD_MAX_CHARS}" in text


def test_a_body_over_the_byte_limit_is_refused_naming_the_limit(client, settings, tess):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = login(client, tess).post("/teach/classes/", {"name": "y" * 2000})
    assert response.status_code == 413
    assert "over the 1000 byte limit" in response.content.decode()
    assert not Classroom.objects.filter(teacher=tess).exists()


def test_too_many_fields_are_refused_naming_the_limit(client, settings, tess):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = login(client, tess).post("/teach/classes/", {f"f{i}": "1" for i in range(10)} | {"name": "Maths"})
    assert response.status_code == 400
    assert "more than 5 fields" in response.content.decode()
    assert not Classroom.objects.filter(teacher=tess).exists()


def test_json_clients_get_the_limit_as_json(client, settings, tess):
    response = login(client, tess).post(
        "/teach/classes/", {"name": "z" * (settings.FORM_FIELD_MAX_CHARS + 1)}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"] == "input_too_large" and "'name'" in response.json()["detail"]


# --- uploaded files: each endpoint's own byte cap ---


def test_roster_over_its_byte_cap_is_refused_naming_the_limit(client, monkeypatch, tess, tess_class):
    monkeypatch.setattr("tutor.accounts.views.MAX_ROSTER_BYTES", 100)
    login(client, tess)
    roster = SimpleUploadedFile("r.csv", b"username,first_name\n" + b"a,b\n" * 50)
    response = client.post(reverse("roster_upload", args=[tess_class.pk]), {"roster": roster}, follow=True)
    assert "the limit is 100" in response.content.decode()
    assert tess_class.students.count() == 0


def test_transcript_over_its_byte_cap_is_refused_with_400(client, monkeypatch, tess):
    monkeypatch.setattr("tutor.coaching.views.MAX_BYTES", 100)
    monkeypatch.setattr("tutor.coaching.talkmoves.MAX_BYTES", 100)
    login(client, tess)
    upload = SimpleUploadedFile("t.txt", b"Teacher: what do you think?\n" * 20)
    response = client.post(reverse("coaching_transcript"), {"transcript": upload})
    assert response.status_code == 400 and "the file is over the 100 byte limit" in response.content.decode()


def test_curriculum_over_its_byte_cap_is_refused_naming_the_limit(client, monkeypatch, adam):
    monkeypatch.setattr("tutor.curricula.views.MAX_FILE_BYTES", 100)
    login(client, adam)
    upload = SimpleUploadedFile("c.json", b"{" + b" " * 200 + b"}")
    response = client.post(reverse("curriculum_upload"), {"package": upload, "format": "auto"}, follow=True)
    assert "is over the 100 limit" in response.content.decode()

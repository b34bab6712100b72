"""The admin upload page: check first (every problem listed), then publish."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import SHARED_DATA, TEST_DATA, login
from tutor.curricula.models import Concept, Curriculum, CurriculumUpload

DOC = json.loads((TEST_DATA / "mini-fractions.json").read_text())


def upload(client, data: bytes, name="fractions.json", **extra):
    return client.post(
        "/curricula/upload/", {"package": SimpleUploadedFile(name, data), "format": "auto", **extra}, follow=True
    )


def test_admin_checks_then_publishes_a_package(client, adam):
    response = upload(login(client, adam), json.dumps(DOC).encode())
    body = response.content.decode()
    assert "Valid, not yet published" in body and "3 concepts" in body and "3 problems with 7 subproblems" in body
    assert not Curriculum.objects.exists()  # checking writes no curriculum
    checked = CurriculumUpload.objects.get()
    published = client.post(f"/curricula/uploads/{checked.pk}/publish/", follow=True)
    curriculum = Curriculum.objects.get()
    assert published.redirect_chain[-1][0] == f"/curricula/{curriculum.pk}/graph/"
    assert curriculum.imported_by == adam and curriculum.problems.count() == 3


def test_invalid_upload_lists_every_problem_and_imports_nothing(client, adam):
    doc = json.loads(json.dumps(DOC))
    doc["problems"][0]["concepts"] = ["nope"]
    doc["problems"][1]["subproblems"][0]["hints"] = []
    body = upload(login(client, adam), json.dumps(doc).encode()).content.decode()
    assert "2 problems found" in body
    assert "problems[0].concepts[0]" in body and "unknown concept" in body
    assert "problems[1].subproblems[0].hints" in body
    assert b"Publish" not in body.encode()
    checked = CurriculumUpload.objects.get()
    response = client.post(f"/curricula/uploads/{checked.pk}/publish/", follow=True)
    assert b"has 2 problem(s)" in response.content and not Curriculum.objects.exists()


def test_unreadable_file_is_reported_with_its_name(client, adam):
    body = upload(login(client, adam), b"{not json", name="broken.json").content.decode()
    assert "broken.json: invalid JSON at line 1 column 2" in body


def test_publishing_twice_is_refused(client, adam):
    upload(login(client, adam), json.dumps(DOC).encode())
    checked = CurriculumUpload.objects.get()
    client.post(f"/curricula/uploads/{checked.pk}/publish/")
    again = client.post(f"/curricula/uploads/{checked.pk}/publish/", follow=True)
    assert b"already published" in again.content and Curriculum.objects.count() == 1


def test_coherence_map_upload_with_break_cycles_lists_the_dropped_edges(client, adam):
    data = (SHARED_DATA / "common_core_math_coherence.json").read_bytes()
    body = upload(login(client, adam), data, name="coherence.json", break_cycles="on").content.decode()
    assert "256 concepts" in body and "Dropped edge" in body and "K.G.A.2" in body
    checked = CurriculumUpload.objects.get()
    preview = client.get(f"/curricula/uploads/{checked.pk}/graph.json").json()
    assert len(preview["concepts"]) == 256
    assert {"source": "K.G.A.2", "target": "K.G.A.3", "group": None} not in preview["edges"]


def test_graph_data_lists_concepts_with_their_prerequisites(client, tess, fractions):
    data = login(client, tess).get(f"/curricula/{fractions.pk}/graph.json").json()
    assert {c["id"] for c in data["concepts"]} == set(Concept.objects.values_list("key", flat=True))
    assert {"source": "frac.lcd", "target": "frac.add-unlike", "group": 0} in data["edges"]
    add = next(c for c in data["concepts"] if c["id"] == "frac.add-unlike")
    assert add["problems"] == 3 and add["passages"] == 1


def test_teacher_sees_the_graph_page_but_cannot_upload(client, tess, fractions):
    login(client, tess)
    assert client.get(f"/curricula/{fractions.pk}/graph/").status_code == 200
    assert client.get("/curricula/upload/").status_code == 403


def test_student_cannot_see_curriculum_pages(client, alice, fractions):
    login(client, alice)
    assert client.get("/curricula/").status_code == 403
    assert client.get(f"/curricula/{fractions.pk}/graph.json").status_code == 403

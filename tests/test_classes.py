"""Classes: teachers create them and see their rosters; students join by code."""

from tests.conftest import login
from tutor.accounts.models import Classroom


def test_student_joins_a_class_with_its_code(client, mallory, tess_class):
    response = login(client, mallory).post("/join/", {"code": " math5a "}, follow=True)
    assert tess_class.students.filter(pk=mallory.pk).exists()
    assert b"You joined Grade 5 Maths" in response.content


def test_unknown_class_code_is_refused_clearly(client, mallory):
    response = login(client, mallory).post("/join/", {"code": "NOPE99"}, follow=True)
    assert b"no class has the code" in response.content and b"NOPE99" in response.content


def test_teacher_cannot_join_a_class_as_a_student(client, trent, tess_class):
    assert login(client, trent).post("/join/", {"code": "MATH5A"}).status_code == 403


def test_teacher_sees_own_classes_with_roster(client, tess, alice, bob, trent_class):
    body = login(client, tess).get("/teach/").content.decode()
    assert "Grade 5 Maths" in body and "Grade 5 Blue" not in body
    detail = client.get(f"/teach/classes/{alice.enrolled_classes.get().pk}/").content.decode()
    assert "alice" in detail and "bob" in detail


def test_teacher_cannot_see_other_class_roster(client, tess, trent_class, mallory):
    assert login(client, tess).get(f"/teach/classes/{trent_class.pk}/").status_code == 404


def test_teacher_creates_a_class_with_a_fresh_code(client, tess):
    response = login(client, tess).post("/teach/", {"name": "Period 3"})
    classroom = Classroom.objects.get(name="Period 3")
    assert response.url == f"/teach/classes/{classroom.pk}/"
    assert len(classroom.code) == 6 and classroom.teacher == tess


def test_class_without_a_name_is_refused(client, tess):
    response = login(client, tess).post("/teach/", {"name": "  "}, follow=True)
    assert b"the class needs a name" in response.content and not Classroom.objects.exists()


def test_student_cannot_open_teacher_pages(client, alice):
    assert login(client, alice).get("/teach/").status_code == 403


def test_home_sends_each_role_to_its_page(client, alice, tess, adam):
    assert login(client, alice).get("/").url == "/learn/"
    assert login(client, tess).get("/").url == "/teach/"
    assert login(client, adam).get("/").url == "/admin/"

"""Roster CSV upload: all or nothing, and a bad row is named."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import login
from tutor.accounts.actions import roster_import
from tutor.accounts.models import Enrollment, User
from tutor.accounts.roster import RosterError, parse_roster


def _upload(client, classroom, text: str, name="roster.csv"):
    return client.post(
        f"/teach/classes/{classroom.pk}/roster/",
        {"roster": SimpleUploadedFile(name, text.encode(), content_type="text/csv")},
        follow=True,
    )


def test_teacher_uploads_roster_and_students_are_created_and_enrolled(client, tess, tess_class):
    text = "username,first_name,last_name,email\ncarol,Carol,King,carol@example.org\ndave,Dave,,\n"
    response = _upload(login(client, tess), tess_class, text)
    assert response.status_code == 200
    assert set(tess_class.students.values_list("username", flat=True)) == {"carol", "dave"}
    carol = User.objects.get(username="carol")
    assert carol.role == "student" and carol.email == "carol@example.org"
    # generated passwords are shown once and work
    body = response.content.decode()
    password = next(line for line in body.splitlines() if "<code>tg-" in line).split("<code>")[1].split("</code>")[0]
    assert client.login(username="carol", password=password)


def test_malformed_roster_names_the_bad_row_and_adds_nobody(client, tess, tess_class):
    text = "username,first_name\ncarol,Carol\ndave,Dave\nbad name!,Eve\nfrank,Frank\n"
    response = _upload(login(client, tess), tess_class, text)
    body = response.content.decode()
    assert "line 4" in body and "bad name!" in body and "Nobody was added" in body
    assert not User.objects.filter(username__in=["carol", "dave", "frank"]).exists()
    assert tess_class.students.count() == 0


def test_row_with_wrong_field_count_is_named(tess_class):
    with pytest.raises(RosterError, match=r"line 3: expected 2 fields .* found 3"):
        roster_import(classroom=tess_class, data=b"username,email\nann,ann@example.org\nben,ben@x.org,extra\n")
    assert not User.objects.filter(username="ann").exists()


def test_roster_cannot_enrol_a_teacher_account(tess_class, trent):
    with pytest.raises(RosterError, match=r"line 2: 'trent' is a teacher account"):
        roster_import(classroom=tess_class, data=b"username\ntrent\n")
    assert not Enrollment.objects.filter(student=trent).exists()


def test_existing_student_is_enrolled_not_recreated(tess_class, mallory):
    result = roster_import(classroom=tess_class, data=b"username\nmallory\n")
    assert result.enrolled == ["mallory"] and result.created == {}
    assert tess_class.students.filter(pk=mallory.pk).exists()


def test_weak_password_in_roster_is_rejected_with_its_row(tess_class):
    with pytest.raises(RosterError, match=r"line 3: password rejected"):
        roster_import(classroom=tess_class, data=b"username,password\nann,a-long-pass-phrase\nben,123\n")
    assert not User.objects.filter(username="ann").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"name,email\nann,a@b.org\n", "unknown column 'name'"),
        (b"email\na@b.org\n", "no 'username' column"),
        (b"username\n", "no students"),
        (b"username\nann\nANN\n", "line 3: username 'ANN' already appears on line 2"),
        (b"username,email\nann,not-an-email\n", "line 2: email 'not-an-email'"),
        (b"username\n\xff\xfe\n", "not UTF-8"),
        (b"username,email\n,a@b.org\n", "line 2: column 'username' is empty"),
    ],
)
def test_parse_roster_names_what_is_wrong(data, message):
    with pytest.raises(RosterError, match=message):
        parse_roster(data)


def test_teacher_cannot_upload_to_another_teachers_class(client, tess, trent_class):
    response = _upload(login(client, tess), trent_class, "username\ncarol\n")
    assert response.status_code == 404
    assert not User.objects.filter(username="carol").exists()


def test_student_cannot_upload_a_roster(client, alice, tess_class):
    response = _upload(login(client, alice), tess_class, "username\ncarol\n")
    assert response.status_code == 403

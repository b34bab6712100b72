"""The audit log records who read whose data, role changes and curriculum
publishes, through the real views and actions; it is append-only and holds
no message contents."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import TEST_DATA, login
from tutor.accounts.models import User
from tutor.audit.actions import audit_record
from tutor.audit.models import AuditEvent
from tutor.dialogue.actions import student_message_post, turn_run
from tutor.dialogue.models import Message

DISTINCTIVE = "purple-elephant-7391 my secret answer"


def views(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="view", **filters))


# --- who viewed whose data ---


def test_teacher_reading_a_transcript_is_recorded(client, tess, alice_session):
    response = login(client, tess).get(f"/sessions/{alice_session.pk}/transcript/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    [event] = views(object_type="transcript")
    assert (event.actor, event.actor_name, event.subject, event.subject_name) == (
        tess,
        "tess",
        alice_session.student,
        "alice",
    )
    assert event.object_id == str(alice_session.pk) and event.ip == "10.1.2.3"


def test_a_student_reading_her_own_session_is_not_recorded(client, alice, alice_session):
    assert login(client, alice).get(f"/sessions/{alice_session.pk}/").status_code == 200
    assert login(client, alice).get(f"/sessions/{alice_session.pk}/messages.json").status_code == 200
    assert views() == []


def test_an_adult_reading_a_session_page_and_its_json_is_recorded(client, adam, alice_session):
    login(client, adam)
    client.get(f"/sessions/{alice_session.pk}/")
    client.get(f"/sessions/{alice_session.pk}/messages.json")
    assert sorted(e.object_type for e in views(actor=adam, subject_name="alice")) == ["session", "session_messages"]


def test_a_refused_view_is_not_recorded(client, trent, alice_session):
    assert login(client, trent).get(f"/sessions/{alice_session.pk}/transcript/").status_code == 404
    assert views() == []


def test_coaching_student_report_and_session_are_recorded(client, tess, tess_class, alice, alice_session):
    login(client, tess)
    assert client.get(reverse("coaching_student", args=[tess_class.pk, alice.pk])).status_code == 200
    assert client.get(reverse("coaching_session", args=[alice_session.pk])).status_code == 200
    events = views(actor=tess, subject=alice)
    assert sorted(e.object_type for e in events) == ["coaching_session", "student_report"]
    report = next(e for e in events if e.object_type == "student_report")
    assert report.detail["class"] == tess_class.pk


def test_coaching_csv_is_recorded_as_an_export_of_the_class(client, tess, tess_class, alice, bob):
    response = login(client, tess).get(reverse("coaching_csv", args=[tess_class.pk, "mastery"]))
    assert response.status_code == 200
    [event] = AuditEvent.objects.filter(action="export")
    assert event.object_type == "class_csv" and event.object_id == str(tess_class.pk)
    assert event.detail["table"] == "mastery" and event.detail["students"] == 2 and event.subject is None


@pytest.mark.parametrize(
    ("url_name", "object_type"),
    [
        ("class_abilities", "class_abilities"),
        ("coaching_dashboard", "class_dashboard"),
        ("coaching_misconceptions", "class_misconceptions"),
        ("teacher_class_detail", "class_detail"),
        ("srl_class", "class_srl"),
    ],
)
def test_class_pages_record_one_event_with_the_class_and_its_size(
    client, tess, tess_class, alice, bob, url_name, object_type
):
    assert login(client, tess).get(reverse(url_name, args=[tess_class.pk])).status_code == 200
    [event] = views(object_type=object_type)
    assert event.object_id == str(tess_class.pk) and event.detail["students"] == 2 and event.actor == tess


def test_teacher_reading_a_students_plan_is_recorded(client, tess, alice, fractions):
    login(client, tess)
    assert client.get(reverse("student_plan", args=[alice.pk, fractions.pk])).status_code == 200
    assert client.get(reverse("student_plan_graph", args=[alice.pk, fractions.pk])).status_code == 200
    assert sorted(e.object_type for e in views(subject=alice)) == ["student_plan", "student_plan_graph"]


# --- role changes ---


def test_role_change_in_the_django_admin_records_old_and_new_with_the_admin_as_actor(client, adam, alice):
    login(client, adam)
    page = client.get(reverse("admin:accounts_user_change", args=[alice.pk]))
    form = page.context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions", "password")
    }
    data.update(
        role="teacher",
        is_staff="on",
        is_active="on",
        last_login_0="",
        last_login_1="",
        date_joined_0="2026-01-01",
        date_joined_1="00:00:00",
    )
    data.pop("is_superuser", None)
    data.pop("last_login", None)
    data.pop("date_joined", None)
    response = client.post(reverse("admin:accounts_user_change", args=[alice.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    alice.refresh_from_db()
    assert alice.role == "teacher"
    [event] = AuditEvent.objects.filter(action="role_change", subject=alice)
    assert event.actor == adam and event.detail["via"] == "web"
    assert (event.detail["old_role"], event.detail["new_role"]) == ("student", "teacher")
    assert (event.detail["old_is_staff"], event.detail["new_is_staff"]) == (False, True)
    assert "old_is_superuser" not in event.detail  # unchanged flags are not listed


def test_role_change_outside_a_request_is_recorded_as_the_system(alice):
    alice.role = "admin"
    alice.is_superuser = True
    alice.save()
    [event] = AuditEvent.objects.filter(action="role_change", subject=alice)
    assert event.actor is None and event.actor_name == "" and event.detail["via"] == "system"
    assert event.detail["new_is_superuser"] is True and event.detail["old_role"] == "student"


def test_saving_a_user_without_a_role_change_records_nothing(alice):
    alice.first_name = "Alicia"
    alice.save()
    alice.save(update_fields=["last_login"])
    assert not AuditEvent.objects.filter(action="role_change", subject=alice).exists()


def test_creating_a_teacher_is_recorded_as_a_grant_but_a_student_is_not(db):
    teacher = User.objects.create_user(username="newteacher", role="teacher")
    User.objects.create_user(username="newstudent", role="student")
    events = list(AuditEvent.objects.filter(action="role_change"))
    assert [(e.subject, e.detail["created"], e.detail["new_role"]) for e in events] == [(teacher, True, "teacher")]


# --- curriculum publishes ---


def test_publishing_an_upload_on_the_web_is_recorded(client, adam):
    login(client, adam)
    data = (TEST_DATA / "mini-fractions.json").read_bytes()
    client.post("/curricula/upload/", {"package": SimpleUploadedFile("f.json", data), "format": "auto"})
    from tutor.curricula.models import CurriculumUpload

    upload = CurriculumUpload.objects.get()
    client.post(f"/curricula/uploads/{upload.pk}/publish/")
    [event] = AuditEvent.objects.filter(action="curriculum_publish")
    assert event.actor == adam and event.object_type == "curriculum"
    assert event.detail["slug"] == json.loads(data)["id"] and event.detail["version"] == 1


def test_import_curriculum_command_is_recorded_as_the_system(db):
    call_command("import_curriculum", str(TEST_DATA / "mini-fractions.json"))
    [event] = AuditEvent.objects.filter(action="curriculum_publish")
    assert event.actor is None and event.detail["version"] == 1 and event.ip is None


def test_a_dry_run_import_is_not_recorded(db):
    call_command("import_curriculum", str(TEST_DATA / "mini-fractions.json"), "--dry-run")
    assert not AuditEvent.objects.filter(action="curriculum_publish").exists()


# --- append-only ---


def test_events_cannot_be_changed_or_deleted(tess, alice):
    event = audit_record(action="view", actor=tess, subject=alice, object_type="transcript", object_id=1)
    event.object_id = "2"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    with pytest.raises(ValueError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(object_id="3")
    with pytest.raises(ValueError, match="append-only"):
        AuditEvent.objects.all().delete()
    event.refresh_from_db()
    assert event.object_id == "1"


def test_unknown_actions_are_refused(tess):
    with pytest.raises(ValueError, match="unknown audit action 'peek'"):
        audit_record(action="peek", actor=tess)


def test_deleting_a_user_keeps_their_events_with_the_copied_names(trent, alice):
    event = audit_record(action="view", actor=trent, subject=alice, object_type="transcript", object_id=1)
    trent.delete()
    event.refresh_from_db()
    assert event.actor is None and event.actor_name == "trent" and event.subject == alice


def test_the_django_admin_is_read_only(client, adam, tess, alice):
    event = audit_record(action="view", actor=tess, subject=alice, object_type="transcript", object_id=1)
    login(client, adam)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- no contents ---


def test_no_message_contents_are_stored(client, tess, alice_session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        posted = student_message_post(session=alice_session, client_id="c-1", text=DISTINCTIVE)
        if not Message.objects.filter(reply_to=posted.message).exists():
            turn_run(posted.message.pk)
    reply = Message.objects.get(reply_to=posted.message)
    login(client, tess)
    assert DISTINCTIVE in client.get(f"/sessions/{alice_session.pk}/transcript/").content.decode()
    client.get(f"/sessions/{alice_session.pk}/messages.json")
    client.get(reverse("coaching_session", args=[alice_session.pk]))
    assert AuditEvent.objects.filter(action="view").count() == 3
    for event in AuditEvent.objects.all():
        columns = [str(getattr(event, f.attname)) for f in AuditEvent._meta.fields] + [json.dumps(event.detail)]
        for column in columns:
            assert "purple-elephant" not in column and reply.text not in column, (event, column)


def test_long_free_text_in_detail_is_cut_short(tess):
    event = audit_record(action="view", actor=tess, detail={"note": "x" * 1000, "nested": {"a": "dropped"}})
    assert len(event.detail["note"]) == 200 and "nested" not in event.detail

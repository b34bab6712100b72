"""The teacher's transcript view: every tutor turn with its CLASS labels."""

from django.utils.html import escape

from tests.conftest import login
from tutor.dialogue.actions import student_message_post, turn_run
from tutor.dialogue.models import Message


def _wrong_answer(session):
    """alice gives the demo problem's authored misconception (4 + 8 = 12)."""
    posted = student_message_post(session=session, client_id="t-1", text="12")
    if not Message.objects.filter(reply_to=posted.message).exists():
        turn_run(posted.message.pk)
    return Message.objects.get(reply_to=posted.message)


def test_teacher_sees_each_turns_labels(client, tess, alice_session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        reply = _wrong_answer(alice_session)
    page = login(client, tess).get(f"/sessions/{alice_session.pk}/transcript/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "a: incorrect" in body and "1: point out the mistake and hint" in body
    assert "x: working on the current subproblem" in body
    assert reply.record["misconception"] in body and escape(reply.record["thoughts"]) in body


def test_class_page_links_each_session_transcript(client, tess, tess_class, alice_session):
    body = login(client, tess).get(f"/teach/classes/{tess_class.pk}/").content.decode()
    assert f"/sessions/{alice_session.pk}/transcript/" in body


def test_admin_sees_the_labels(client, adam, alice_session):
    assert login(client, adam).get(f"/sessions/{alice_session.pk}/transcript/").status_code == 200


def test_student_cannot_see_the_labels_of_her_own_session(client, alice, alice_session):
    assert login(client, alice).get(f"/sessions/{alice_session.pk}/transcript/").status_code == 404


def test_teacher_cannot_see_other_class_transcript(client, trent, alice_session):
    assert login(client, trent).get(f"/sessions/{alice_session.pk}/transcript/").status_code == 404


def test_mallory_and_anonymous_cannot_see_the_transcript(client, mallory, alice_session):
    assert client.get(f"/sessions/{alice_session.pk}/transcript/").status_code == 302  # to the login page
    assert login(client, mallory).get(f"/sessions/{alice_session.pk}/transcript/").status_code == 404


def test_students_wire_record_has_labels_but_no_thoughts(
    client, alice, alice_session, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        _wrong_answer(alice_session)
    messages = login(client, alice).get(f"/sessions/{alice_session.pk}/messages.json").json()["messages"]
    record = messages[-1]["record"]
    assert record["evaluation"] == "a" and record["action"] == 1
    assert "thoughts" not in record and "misconception" not in record

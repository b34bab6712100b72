"""Session pages over HTTP: who may open and read a tutoring session."""

from tests.conftest import login
from tutor.dialogue.models import TutorSession


def test_student_opens_a_problem_and_lands_in_its_session(client, alice, demo_problem):
    response = login(client, alice).post(f"/problems/{demo_problem.pk}/start/")
    session = TutorSession.objects.get(student=alice)
    assert response.status_code == 302 and response.url == f"/sessions/{session.pk}/"
    page = client.get(response.url)
    assert page.status_code == 200 and b'aria-live="polite"' in page.content


def test_opening_the_same_problem_again_resumes_the_session(client, alice, demo_problem):
    login(client, alice)
    first = client.post(f"/problems/{demo_problem.pk}/start/").url
    second = client.post(f"/problems/{demo_problem.pk}/start/").url
    assert first == second and TutorSession.objects.count() == 1


def test_session_starts_with_the_greeting_stored_as_seq_1(alice_session):
    greeting = alice_session.messages.get()
    assert greeting.seq == 1 and greeting.role == "tutor"
    assert "Maya ran" in greeting.text


def test_student_can_read_own_transcript(client, alice, alice_session):
    data = login(client, alice).get(f"/sessions/{alice_session.pk}/messages.json").json()
    assert [m["seq"] for m in data["messages"]] == [1]


def test_transcript_never_contains_the_answer_key(client, alice, alice_session):
    body = login(client, alice).get(f"/sessions/{alice_session.pk}/").content.decode()
    assert "7/8" not in body  # the final answer of the demo problem
    data = client.get(f"/sessions/{alice_session.pk}/messages.json").content.decode()
    assert "7/8" not in data


def test_mallory_cannot_open_or_read_alices_session(client, mallory, alice_session):
    login(client, mallory)
    assert client.get(f"/sessions/{alice_session.pk}/").status_code == 404
    assert client.get(f"/sessions/{alice_session.pk}/messages.json").status_code == 404


def test_classmate_cannot_read_alices_session(client, bob, alice_session):
    assert login(client, bob).get(f"/sessions/{alice_session.pk}/messages.json").status_code == 404


def test_teacher_can_read_own_students_session_read_only(client, tess, alice_session):
    page = login(client, tess).get(f"/sessions/{alice_session.pk}/")
    assert page.status_code == 200
    assert b'id="chat-form"' not in page.content and b'data-can-post="false"' in page.content


def test_teacher_cannot_see_other_class(client, trent, alice_session):
    assert login(client, trent).get(f"/sessions/{alice_session.pk}/messages.json").status_code == 404


def test_admin_can_read_any_session(client, adam, alice_session):
    assert login(client, adam).get(f"/sessions/{alice_session.pk}/messages.json").status_code == 200


def test_anonymous_visitor_is_sent_to_login(client, alice_session):
    response = client.get(f"/sessions/{alice_session.pk}/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_student_cannot_start_a_problem_outside_their_classes(client, alice, demo_problem, tess_class):
    tess_class.curricula.clear()
    assert login(client, alice).post(f"/problems/{demo_problem.pk}/start/").status_code == 404
    assert not TutorSession.objects.exists()


def test_student_home_lists_problems_with_their_status(client, alice, alice_session):
    body = login(client, alice).get("/learn/").content.decode()
    assert "Add 3/4 and 1/8" in body and "In progress" in body and "Not started" in body

"""The open learner model: students see their own mastery on the concept graph."""

from tests.conftest import login
from tutor.dialogue.actions import student_message_post, turn_run


def test_student_sees_mastery_rise_on_the_concept_they_practised(client, alice, alice_session):
    curriculum = alice_session.problem.curriculum
    login(client, alice)
    before = {
        c["id"]: c["mastery"] for c in client.get(f"/learn/progress/{curriculum.pk}/graph.json").json()["concepts"]
    }
    posted = student_message_post(session=alice_session, client_id="c1", text="8")
    turn_run(posted.message.pk)
    after = {
        c["id"]: c["mastery"] for c in client.get(f"/learn/progress/{curriculum.pk}/graph.json").json()["concepts"]
    }
    assert set(before) == {"frac.equivalent", "frac.lcd", "frac.add-unlike"}
    assert after["frac.add-unlike"] > before["frac.add-unlike"]
    assert all(0.0 <= m <= 1.0 for m in after.values())


def test_progress_page_links_from_the_student_home(client, alice, alice_session):
    body = login(client, alice).get("/learn/").content.decode()
    assert f"/learn/progress/{alice_session.problem.curriculum.pk}/" in body
    assert login(client, alice).get(f"/learn/progress/{alice_session.problem.curriculum.pk}/").status_code == 200


def test_student_cannot_see_progress_in_a_curriculum_outside_their_classes(client, alice, fractions, tess_class):
    tess_class.curricula.clear()
    assert login(client, alice).get(f"/learn/progress/{fractions.pk}/graph.json").status_code == 404


def test_teacher_is_not_served_the_student_progress_page(client, tess, fractions):
    assert login(client, tess).get(f"/learn/progress/{fractions.pk}/").status_code == 403

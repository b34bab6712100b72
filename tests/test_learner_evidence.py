"""Every answered step updates the learner model, in the same transaction as the reply."""

from models.mastery import LearnerState
from tutor.dialogue.actions import student_message_post, turn_run
from tutor.learners.actions import mastery_model
from tutor.learners.models import LearnerModelState, MasteryEvent


def answer(session, client_id: str, text: str, kind: str = "answer"):
    posted = student_message_post(session=session, client_id=client_id, text=text, kind=kind)
    return turn_run(posted.message.pk)[0]


def mastery_of(student, curriculum, concept: str) -> float:
    row = LearnerModelState.objects.get(student=student, curriculum=curriculum)
    return mastery_model().mastery(LearnerState.from_dict(row.state), concept)


def test_wrong_then_right_answers_move_mastery_down_then_up(alice, alice_session):
    curriculum = alice_session.problem.curriculum
    answer(alice_session, "c1", "12")  # a misconception: evidence against
    low = mastery_of(alice, curriculum, "frac.add-unlike")
    reply = answer(alice_session, "c2", "8")  # correct
    high = mastery_of(alice, curriculum, "frac.add-unlike")
    events = list(MasteryEvent.objects.filter(student=alice, concept="frac.add-unlike"))
    assert [(e.kind, e.correct) for e in events] == [("subproblem", False), ("subproblem", True)]
    assert high > low and events[-1].mastery == high
    assert events[-1].message == reply


def test_hint_request_is_weak_evidence_against(alice, alice_session):
    answer(alice_session, "h1", "Can I have a hint?", kind="hint_request")
    event = MasteryEvent.objects.get(student=alice)
    assert (event.kind, event.correct) == ("hint", False)


def test_unclear_text_says_nothing_about_mastery(alice, alice_session):
    answer(alice_session, "u1", "hmm, not sure")
    assert not MasteryEvent.objects.exists()


def test_success_raises_the_prerequisites_too(alice, alice_session):
    curriculum = alice_session.problem.curriculum
    fresh = mastery_model().mastery(LearnerState(), "frac.equivalent")
    answer(alice_session, "c1", "8")
    assert mastery_of(alice, curriculum, "frac.equivalent") > fresh  # propagated along the prerequisite edge
    assert not MasteryEvent.objects.filter(concept="frac.equivalent").exists()  # history holds direct evidence only


def test_each_student_has_their_own_model(alice, bob, alice_session, demo_problem):
    from tutor.dialogue.actions import session_start

    bob_session = session_start(student=bob, problem=demo_problem)
    answer(alice_session, "a1", "8")
    answer(bob_session, "b1", "12")
    curriculum = demo_problem.curriculum
    assert mastery_of(alice, curriculum, "frac.add-unlike") > mastery_of(bob, curriculum, "frac.add-unlike")

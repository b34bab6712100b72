"""Realistic class activity for the coaching tests, made through the real dialogue actions.

Each answer is posted with ``student_message_post`` and answered by
``turn_run`` (the tutor's pipeline: Diagnostician, policy, verbaliser, guard),
which also records the mastery evidence, exactly as in a live session.

Tests run inside a transaction that never commits, so ``say`` runs the
coaching refresh the turn scheduled for after commit (and only that: the
agent loop's ``problem_finished`` stays out of these tests), which keeps the
dashboard's pre-aggregated tables as current as they are in a live session.
"""

from __future__ import annotations

from itertools import count

from django.test import TestCase

from tutor.dialogue.actions import session_start, student_message_post, turn_run
from tutor.dialogue.models import Message, TutorSession

_ids = count(1)


def say(session: TutorSession, text: str, kind: str = "answer") -> Message:
    """Post one student message and run its turn; return the tutor's reply."""
    posted = student_message_post(session=session, client_id=f"c{next(_ids)}", text=text, kind=kind)
    with TestCase.captureOnCommitCallbacks() as callbacks:
        reply = turn_run(posted.message.pk)[0]
    for callback in callbacks:
        if hasattr(callback, "coaching_key"):
            callback()
    return reply


def work(student, problem, answers: list[str]) -> TutorSession:
    """Start a session on ``problem`` and post each answer in turn."""
    session = session_start(student=student, problem=problem)
    for text in answers:
        say(session, text)
    session.refresh_from_db()
    return session

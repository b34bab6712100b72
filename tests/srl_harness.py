"""Helpers for the SRL tests: a started study session, and simulated students played through the real dialogue.

Every turn goes through ``student_message_post`` and ``turn_run`` (the real
pipeline); only the timestamps are rewritten afterwards, so a test decides
how long the student "thought" before each message (``wait`` seconds after
the tutor's previous message). The clock starts an hour ago, so every turn
lies inside the study session's window.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tutor.agents.simstudents import Observation
from tutor.dialogue.actions import problem_key, session_start, student_message_post, turn_run
from tutor.dialogue.models import Message
from tutor.srl.actions import GoalInput, goal_quality_check, study_session_start
from tutor.srl.models import StudySession

SMART_GOAL = "Solve 2 steps of adding fractions with unlike denominators in 20 minutes"


def started_study(student, curriculum, text: str = SMART_GOAL) -> StudySession:
    study = study_session_start(student=student, curriculum=curriculum)
    check = goal_quality_check(study, GoalInput(text, ["frac.add-unlike"], 20, "practice", 3))
    assert check.accepted, check
    study.refresh_from_db()
    StudySession.objects.filter(pk=study.pk).update(started_at=timezone.now() - timedelta(hours=2))
    study.refresh_from_db()
    return study


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now() - timedelta(hours=1)

    def advance(self, seconds: float):
        self.now += timedelta(seconds=seconds)
        return self.now


def open_session(student, problem, clock: Clock):
    session = session_start(student=student, problem=problem)
    session.messages.update(created_at=clock.advance(1))
    return session


def say(
    session, text: str, clock: Clock, *, wait: float = 20.0, kind: str = "answer", n: list | None = None
) -> Message:
    """Post one student message ``wait`` seconds after the tutor's last message; run its turn; return the reply."""
    count = session.messages.count()
    posted = student_message_post(session=session, client_id=f"c{count}", text=text, kind=kind).message
    Message.objects.filter(pk=posted.pk).update(created_at=clock.advance(wait))
    turn_run(posted.pk)
    reply = Message.objects.get(reply_to=posted)
    Message.objects.filter(pk=reply.pk).update(created_at=clock.advance(1))
    reply.refresh_from_db()
    return reply


def play(session, student, clock: Clock, *, wait: float, limit: int = 30) -> list[Message]:
    """Play a simulated student (``tutor.agents.simstudents``) until the problem is done."""
    key = problem_key(session.problem)
    student.start(key)
    last = session.messages.order_by("-seq").first()
    replies = []
    for _ in range(limit):
        session.refresh_from_db()
        if session.status == "done":
            break
        obs = Observation(last.text, last.record, session.subproblem_index, False)
        turn = student.act(obs)
        last = say(session, turn.text, clock, wait=wait, kind=turn.kind)
        replies.append(last)
    return replies

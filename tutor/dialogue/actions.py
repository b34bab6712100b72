"""Every write to tutoring sessions lives here.

- ``session_start()`` opens (or resumes) a student's session on a problem and
  stores the tutor's greeting.
- ``student_message_post()`` stores a student message idempotently and, once
  committed, hands its turn to the executor.
- ``turn_run()`` answers every unanswered student message of a session in
  order, storing each tutor reply with its CLASS record.

The tutor itself (``tutor/agents/pipeline.py``) is pure; these functions load
its inputs, store its outputs, and hold the session row lock while they do.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from models.llm.turnformat import HINT_BUTTON
from tutor.accounts.models import User
from tutor.agents import pipeline
from tutor.agents.problem import Position, ProblemKey, Step
from tutor.agents.scripted import ScriptedVerbaliser
from tutor.curricula.models import Problem
from tutor.dialogue.events import LiveDeltas
from tutor.dialogue.evidence import turn_evidence
from tutor.dialogue.models import Message, TutorSession
from tutor.dialogue.tutoring import intent_reader, passage_lookup, text_similarity
from tutor.learners.actions import learner_evidence_record
from tutor.planning.actions import problem_finished
from tutor.tutormodels.serving import next_turn_prefill, turn_verbaliser


class PostError(ValueError):
    """A message that cannot be accepted; ``code`` is machine-readable."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Posted:
    message: Message
    duplicate: bool


def problem_key(problem: Problem) -> ProblemKey:
    """The pipeline's view of a problem, answer key included (it stays server-side)."""
    steps = tuple(
        Step(
            prompt=s.question,
            answer=s.answer,
            hints=tuple(s.hints),
            solution=s.solution,
            misconceptions=tuple(s.misconceptions),
        )
        for s in problem.subproblems.all()
    )
    return ProblemKey(
        id=problem.key,
        statement=problem.statement,
        steps=steps,
        answer=problem.answer or None,
        solution=problem.solution,
        concepts=tuple(problem.concepts.values_list("key", flat=True)),
    )


def _next_seq(session_id: int) -> int:
    """Reserve the session's next sequence number. Call inside a transaction.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite), so
    concurrent writers get distinct, gapless numbers.
    """
    TutorSession.objects.filter(pk=session_id).update(last_seq=F("last_seq") + 1)
    return TutorSession.objects.values_list("last_seq", flat=True).get(pk=session_id)


def session_start(*, student: User, problem: Problem) -> TutorSession:
    """Resume the student's active session on ``problem``, or open a new one."""
    with transaction.atomic():
        existing = TutorSession.objects.filter(
            student=student, problem=problem, status=TutorSession.Status.ACTIVE
        ).first()
        if existing is not None:
            return existing
        from tutor.tutormodels.live import live_name  # the live model at the start: the session keeps it

        session = TutorSession.objects.create(student=student, problem=problem, tutor_model=live_name() or "")
        greeting = pipeline.opening(problem_key(problem))
        Message.objects.create(
            session=session,
            seq=_next_seq(session.pk),
            role=Message.Role.TUTOR,
            kind=Message.Kind.TUTOR,
            text=greeting.utterance,
            record=greeting.as_dict(),
        )
    return session


def validate_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not client_id.strip():
        raise PostError("missing_client_id", "client_id is required: a string the browser picks for each message")
    if len(client_id) > 64:
        raise PostError("invalid_client_id", f"client_id is {len(client_id)} characters; the limit is 64")
    if "\x00" in client_id:
        raise PostError("invalid_client_id", "client_id contains a NUL character (\\x00)")
    return client_id


def student_message_post(*, session: TutorSession, client_id: str, text: str, kind: str = "answer") -> Posted:
    """Store a student message once, then enqueue its turn after commit.

    A resend with a client_id already stored returns the stored message with
    ``duplicate=True``. If that message still has no reply (its turn failed or
    was lost), the resend enqueues the turn again; turns are idempotent.
    """
    client_id = validate_client_id(client_id)
    if kind not in (Message.Kind.ANSWER, Message.Kind.HINT_REQUEST):
        raise PostError("invalid_kind", f"kind {kind!r} must be 'answer' or 'hint_request'")
    if not isinstance(text, str):
        raise PostError("invalid_text", "text must be a string")
    if len(text) > settings.MESSAGE_MAX_CHARS:
        raise PostError(
            "message_too_long",
            f"the message is {len(text)} characters; the limit is {settings.MESSAGE_MAX_CHARS}",
        )
    if "\x00" in text:  # PostgreSQL cannot store it; tests/test_fuzz_chat.py sends some
        raise PostError("invalid_text", "the message contains a NUL character (\\x00), which cannot be stored")
    if kind == Message.Kind.ANSWER and not text.strip():
        raise PostError("empty_message", "the message is empty")

    existing = Message.objects.filter(session=session, client_id=client_id).first()
    if existing is not None:
        return _duplicate(existing)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                session=session,
                seq=_next_seq(session.pk),
                role=Message.Role.STUDENT,
                kind=kind,
                text=text,
                client_id=client_id,
            )
            transaction.on_commit(lambda: _enqueue(message.pk))
    except IntegrityError:
        # A concurrent resend won the race for this client_id.
        existing = Message.objects.filter(session=session, client_id=client_id).first()
        if existing is None:
            raise
        return _duplicate(existing)
    return Posted(message, duplicate=False)


def _duplicate(message: Message) -> Posted:
    if not Message.objects.filter(reply_to=message).exists():
        transaction.on_commit(lambda: _enqueue(message.pk))
    return Posted(message, duplicate=True)


def _enqueue(message_id: int) -> None:
    from tutor.dialogue.executors import turn_enqueue

    turn_enqueue(message_id)


HISTORY_MESSAGES = 4  # more than a prompt shows (models.llm.turnformat.HISTORY_TURNS)


def _history_entry(message: Message) -> tuple[str, str]:
    if message.kind == Message.Kind.HINT_REQUEST:
        return message.role, HINT_BUTTON  # as the tutor model saw hint requests in training
    return message.role, message.text


def recent_history(session_id: int, before_seq: int) -> list[tuple[str, str]]:
    """The session's last few messages before ``before_seq`` as (role, text), oldest first.

    A language model words a turn in the conversation's context: the tutor
    model was trained on prompts that always carry the opening and the last
    exchange (``models.llm.dataset``), and without them it parrots the student.
    """
    recent = Message.objects.filter(session_id=session_id, seq__lt=before_seq).order_by("-seq")[:HISTORY_MESSAGES]
    return [_history_entry(m) for m in reversed(recent)]


def turn_run(message_id: int) -> list[Message]:
    """Answer ``message_id`` and any earlier unanswered messages of its session.

    Idempotent: a message that already has a reply is not answered again, so
    a redelivered task returns ``[]``. Turns of one session serialise on the
    session row lock, which keeps the tutor's state consistent when a student
    sends faster than the tutor answers.
    """
    # Counted before the turn's own transaction, so that an attempt cut off
    # by a crash (a killed worker, a dropped connection) still counts.
    Message.objects.filter(pk=message_id).update(turn_attempts=F("turn_attempts") + 1)
    with transaction.atomic():
        target = Message.objects.select_related("session").get(pk=message_id)
        session = (
            TutorSession.objects.select_for_update(of=("self",))
            .select_related("problem__curriculum", "student")
            .get(pk=target.session_id)
        )
        pending = list(
            Message.objects.filter(
                session=session, role=Message.Role.STUDENT, reply__isnull=True, seq__lte=target.seq
            ).order_by("seq")
        )
        if not pending:
            return []
        key = problem_key(session.problem)
        curriculum = session.problem.curriculum
        at = Position(
            index=session.subproblem_index,
            attempts=session.attempts,
            help_requests=session.help_requests,
            hints_given=session.hints_given,
            done=session.status == TutorSession.Status.DONE,
        )
        replies = []
        history: list[tuple[str, str]] | None = None
        for student_msg in pending:
            live = LiveDeltas(session.pk, student_msg.seq)  # a language model's guarded words, as they come
            attempts = max(target.turn_attempts, student_msg.turn_attempts)
            verbaliser = turn_verbaliser(session.student_id, session.pk, attempts)
            if history is None:  # the scripted words need no conversation: no query on the default path
                scripted = isinstance(verbaliser, ScriptedVerbaliser)
                history = [] if scripted else recent_history(session.pk, student_msg.seq)
            out = pipeline.turn(
                pipeline.TurnInput(
                    problem=key,
                    position=at,
                    kind=student_msg.kind,
                    text=student_msg.text,
                    max_attempts=curriculum.max_attempts,
                    seq=student_msg.seq,
                    retrieve=passage_lookup(curriculum, key),
                    history=tuple(history),
                ),
                verbaliser=verbaliser,
                similarity=text_similarity(),
                intent_of=intent_reader(),
                on_delta=live,
            )
            live.close()
            at = out.position
            tutor_msg = Message.objects.create(
                session=session,
                seq=_next_seq(session.pk),
                role=Message.Role.TUTOR,
                kind=Message.Kind.TUTOR,
                text=out.text,
                reply_to=student_msg,
                record=out.record.as_dict(),
            )
            tutor_msg.streamed_live = live.frames > 0  # publish_replies then sends only the stored message
            history += [_history_entry(student_msg), _history_entry(tutor_msg)]
            replies.append(tutor_msg)
            learner_evidence_record(
                student=session.student,
                curriculum=curriculum,
                evidence=turn_evidence(out.record.as_dict(), student_msg.kind, list(key.concepts)),
                message=tutor_msg,
            )
        session.subproblem_index = at.index
        session.attempts = at.attempts
        session.help_requests = at.help_requests
        session.hints_given = at.hints_given
        if at.done and session.status != TutorSession.Status.DONE:
            session.status = TutorSession.Status.DONE
            session.finished_at = timezone.now()
            transaction.on_commit(lambda: problem_finished(session.pk))  # the agent loop: re-plan, choose next
        session.save(
            update_fields=["subproblem_index", "attempts", "help_requests", "hints_given", "status", "finished_at"]
        )
        if not at.done and hasattr(verbaliser, "prefill_turn"):  # a served model: the next prompt is known now
            transaction.on_commit(lambda: next_turn_prefill(verbaliser, key, at, curriculum.max_attempts, history))
    return replies

"""Writes from the coaching reports: flag a tutor turn, suggest a misconception, coach a transcript,
and keep the dashboard's pre-aggregated tables current (``coaching_aggregates_refresh``).

Each checks its own input and raises ``CoachingError`` with a message a
teacher can act on; views only parse the request and delegate here.
Permission checks stay in the views (``tutor.accounts.permissions``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from tutor.accounts.models import User
from tutor.coaching.models import (
    ConceptAggregate,
    DailyActivity,
    MisconceptionAggregate,
    MisconceptionSuggestion,
    StudentSummary,
    TurnFlag,
)
from tutor.curricula.models import Curriculum, Subproblem
from tutor.dialogue.models import Message

MAX_REASON_CHARS = 1000
MAX_ANSWER_CHARS = 200


class CoachingError(ValueError):
    """The write was refused; the message says why."""


def turn_flag_create(*, message: Message, by: User, reason: str) -> TurnFlag:
    """Flag a tutor turn as wrong, with the teacher's reason; flagging the same turn again updates the reason.

    The turn's record is copied into the flag, so a training round reads what
    the tutor did at the time even if records are re-labelled later.
    """
    reason = (reason or "").strip()
    if message.role != Message.Role.TUTOR:
        raise CoachingError("only a tutor turn can be flagged")
    if not reason:
        raise CoachingError("say what was wrong with the turn: the reason is required")
    if len(reason) > MAX_REASON_CHARS:
        raise CoachingError(f"the reason is {len(reason)} characters; the limit is {MAX_REASON_CHARS}")
    flag, _ = TurnFlag.objects.update_or_create(
        message=message, flagged_by=by, defaults={"reason": reason, "record": message.record or {}}
    )
    return flag


def misconception_suggestion_create(
    *, subproblem: Subproblem, answer: str, examples: list[str], students: int, by: User, feedback: str = ""
) -> MisconceptionSuggestion:
    """Store a teacher's one-click "add to curriculum" as a pending suggestion for an admin to publish.

    Why pending and not a new curriculum version right away: curricula are
    versioned packages that only admins import, and there is no exporter from
    the database back to a package yet, so writing a version from here would
    mean a second, partial import path. A suggestion is one row, atomic, and
    honest about its state; a second click on the same answer returns the
    pending one instead of a duplicate.
    """
    answer = (answer or "").strip()
    if not answer:
        raise CoachingError("the suggested misconception has no answer")
    if len(answer) > MAX_ANSWER_CHARS:
        raise CoachingError(f"the answer is {len(answer)} characters; the limit is {MAX_ANSWER_CHARS}")
    if any(_fold(answer) == _fold(m.get("answer", "")) for m in subproblem.misconceptions):
        raise CoachingError(f"“{answer}” is already an authored misconception of this step")
    pending = MisconceptionSuggestion.objects.filter(
        subproblem=subproblem, answer=answer, status=MisconceptionSuggestion.Status.PENDING
    )
    existing = pending.first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return MisconceptionSuggestion.objects.create(
                subproblem=subproblem,
                answer=answer,
                examples=[e[:MAX_ANSWER_CHARS] for e in examples[:20]],
                students=students,
                feedback=(feedback or "").strip()[:MAX_REASON_CHARS],
                suggested_by=by,
            )
    except IntegrityError:  # a concurrent click won
        return pending.get()


def _fold(text: str) -> str:
    return " ".join(str(text).lower().split())


def transcript_coaching_upload(*, data: bytes, filename: str = "") -> dict:
    """Read an uploaded classroom transcript and return its coaching report; nothing is stored.

    Why nothing is stored: a classroom transcript names children who are not
    users of this system; the report is shown once and the teacher keeps it
    (print or save the page). ``TranscriptError`` names the bad line.
    """
    from tutor.coaching.talkmoves import coach, parse_transcript

    return coach(parse_transcript(data, filename))


# --- Pre-aggregated dashboard tables ----------------------------------------------------------------------

log = logging.getLogger(__name__)


def coaching_aggregates_refresh(*, student_id: int, curriculum_slug: str) -> bool:
    """Rebuild one (student, curriculum slug) row set of the dashboard tables from source; False if nothing to read.

    Why recompute instead of incrementing: the rows are a cache of the naive
    selectors, and a recompute from source is idempotent, so a task that runs
    twice, late, or out of order (Celery redelivers on worker loss) still
    leaves the right numbers, and ``coaching_refresh`` can rebuild anything.
    The ``StudentSummary`` row is locked first, so two refreshes of the same
    pair serialise instead of interleaving their deletes and inserts. Cost:
    one student's history in one curriculum (a few ms for a busy student).
    """
    from tutor.coaching.selectors import student_aggregates

    student = User.objects.filter(pk=student_id).first()
    curriculum = Curriculum.objects.filter(slug=curriculum_slug).order_by("-version").first()
    if student is None or curriculum is None:
        return False
    with transaction.atomic():
        summary, _ = StudentSummary.objects.select_for_update().get_or_create(
            student=student, curriculum_slug=curriculum_slug
        )
        agg = student_aggregates(student, curriculum)
        summary.last_active = agg.last_active
        summary.solutions = agg.solutions
        summary.fast_hints = agg.fast_hints
        summary.fast_hint_session_id = agg.fast_hint_session_id
        summary.save()
        mine = {"student": student, "curriculum_slug": curriculum_slug}
        ConceptAggregate.objects.filter(**mine).delete()
        ConceptAggregate.objects.bulk_create(
            [ConceptAggregate(**mine, concept=c, mastery=m, evidence=n) for c, (m, n) in agg.concepts.items()]
        )
        DailyActivity.objects.filter(**mine).delete()
        DailyActivity.objects.bulk_create(
            [DailyActivity(**mine, day=day, messages=m, answers=a) for day, (m, a) in agg.days.items()]
        )
        MisconceptionAggregate.objects.filter(**mine).delete()
        MisconceptionAggregate.objects.bulk_create(
            [
                MisconceptionAggregate(**mine, misconception=mid, count=n, problems=problems)
                for mid, (n, problems) in agg.misconceptions.items()
            ]
        )
    return True


def coaching_refresh_enqueue(*, student_id: int, curriculum_slug: str) -> None:
    """Schedule a refresh of one (student, slug) row set once the current transaction commits.

    Called by the one write path of the learner model
    (``learners.actions.learner_evidence_record``), which every tutor turn and
    item answer goes through, so this is the single hook. Debounced per
    transaction: a turn that records evidence several times (a batch of
    pending messages) schedules one refresh. With Celery it is a task on the
    ``agents`` queue; in the embedded mode (``TURN_EXECUTOR == "inprocess"``)
    it runs inline after commit. A failure is logged, never raised: the
    dashboard may lag, the turn must not fail, and ``coaching_refresh`` repairs it.
    """
    key = (student_id, curriculum_slug)
    # Already scheduled and not yet run in this transaction? Django drops the callbacks of a rolled-back
    # block, so a failed turn never blocks the next one's refresh.
    for entry in transaction.get_connection().run_on_commit:
        if getattr(entry[1], "coaching_key", None) == key and not entry[1].done:
            return

    def run() -> None:
        run.done = True
        try:
            if settings.TURN_EXECUTOR == "celery" and not settings.COACHING_REFRESH_INLINE:
                _refresh_schedule(student_id, curriculum_slug)
            else:
                coaching_aggregates_refresh(student_id=student_id, curriculum_slug=curriculum_slug)
        except Exception:  # noqa: BLE001 - a stale dashboard must never break the write that triggered it
            log.exception("coaching refresh of student %s in %s failed", student_id, curriculum_slug)

    run.coaching_key, run.done = key, False
    transaction.on_commit(run)


def refresh_debounce_key(student_id: int, curriculum_slug: str) -> str:
    return f"coaching-refresh:{student_id}:{curriculum_slug}"


def _refresh_schedule(student_id: int, curriculum_slug: str) -> None:
    """One refresh task per student and curriculum per ``COACHING_REFRESH_DEBOUNCE_S`` window.

    A busy student's turns would otherwise each cost a refresh (about as
    much CPU as the turn itself, measured by ``bench/load.py``). The first
    turn of a window sets a cache key and schedules the task at the window's
    end; later turns find the key and skip. The task deletes the key *before*
    it reads (``refresh_student``), so a turn that commits after that read
    started schedules the next refresh: no turn is left out. The key's own
    expiry (ten windows) only matters if a scheduled task were lost.
    """
    from django.core.cache import cache

    from tutor.coaching.tasks import refresh_student

    window = settings.COACHING_REFRESH_DEBOUNCE_S
    if window <= 0:
        refresh_student.delay(student_id, curriculum_slug)
        return
    if cache.add(refresh_debounce_key(student_id, curriculum_slug), 1, timeout=window * 10):
        refresh_student.apply_async((student_id, curriculum_slug), countdown=window)


def coaching_refresh_all(*, curriculum_slug: str | None = None) -> int:
    """Rebuild every (student, slug) row set that has learner-model state or tutor sessions; return how many.

    For ``manage.py coaching_refresh``: after a deploy that adds the tables,
    after a restore, or to repair rows a failed refresh left stale. Pairs with
    no activity left lose their rows.
    """
    from tutor.dialogue.models import TutorSession
    from tutor.learners.models import ItemResponse, LearnerModelState

    pairs: set[tuple[int, str]] = set()
    pairs.update(LearnerModelState.objects.values_list("student_id", "curriculum__slug"))
    pairs.update(TutorSession.objects.values_list("student_id", "problem__curriculum__slug"))
    pairs.update(ItemResponse.objects.values_list("student_id", "curriculum__slug"))
    pairs.update(StudentSummary.objects.values_list("student_id", "curriculum_slug"))
    if curriculum_slug is not None:
        pairs = {p for p in pairs if p[1] == curriculum_slug}
    for student_id, slug in sorted(pairs):
        coaching_aggregates_refresh(student_id=student_id, curriculum_slug=slug)
    return len(pairs)

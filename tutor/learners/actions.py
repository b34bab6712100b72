"""The one write path into the learner model: ``learner_evidence_record()``.

The Diagnostician (``tutor/agents``, via ``turn_evidence``) turns what happened into
``Evidence`` and hands it here. The update is a few counter additions and a
logistic read per concept (microseconds), so it runs inside the turn's
transaction: a reply and the evidence it produced are stored together or not
at all.

Item responses (``item_response_record``) write through here too: the
response, the student's theta (an O(61) update of a grid posterior) and the
mastery evidence for the item's concepts, in one transaction and in well
under 5 ms (``bench/learner_update.py``). The placement test
(``placement_start`` / ``placement_answer``) and the periodic recalibration
(``item_calibration_run``, from the Celery beat task) are the other writes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils import timezone

from models.irt import IRTModel, update_theta
from models.mastery import Evidence, LearnerState, MasteryModel
from tutor.accounts.models import User
from tutor.curricula.concept_graph import concept_graph
from tutor.curricula.models import Curriculum, Item
from tutor.dialogue.answers import check
from tutor.learners import placement
from tutor.learners.calibration import (
    GRID_POINTS,
    NODES,
    CalibrationRef,
    ItemBank,
    forget_latest_calibration,
    item_bank,
    latest_calibration,
    log_posteriors,
    posterior_moments,
)
from tutor.learners.models import (
    Ability,
    ItemCalibration,
    ItemResponse,
    LearnerModelState,
    MasteryEvent,
    PlacementTest,
)

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "mastery" / "default_model.json"


@cache
def mastery_model() -> MasteryModel:
    """The shipped parameters (``models/mastery/fit_default.py``); recalibration comes with issue 5."""
    return MasteryModel.from_dict(json.loads(DEFAULT_MODEL.read_text()))


def stored_state(row: LearnerModelState | None) -> LearnerState:
    """The mastery state a row holds, or a fresh one."""
    return LearnerState.from_dict(row.state) if row is not None and row.state else LearnerState()


def learner_evidence_record(
    *, student: User, curriculum: Curriculum, evidence: list[Evidence], message=None
) -> dict[str, float]:
    """Apply ``evidence`` to the student's model of ``curriculum``; return the new masteries it touched.

    Every tutor turn and item answer passes through here, even a turn with no
    evidence (a hint request still counts as activity), so this is also the
    one place that schedules the coaching dashboard's refresh of this
    student's aggregates, after commit (``coaching.actions.coaching_refresh_enqueue``).
    """
    from tutor.coaching.actions import coaching_refresh_enqueue  # lazy: coaching reads the learner model

    if not evidence:
        coaching_refresh_enqueue(student_id=student.pk, curriculum_slug=curriculum.slug)
        return {}
    row, _ = LearnerModelState.objects.select_for_update().get_or_create(student=student, curriculum=curriculum)
    state = stored_state(row)
    graph = concept_graph(curriculum)
    learner = mastery_model().learner(state, graph if graph.number_of_nodes() else None)
    events, touched = [], {}
    for e in evidence:
        learner.update(e)
        touched[e.concept] = learner.mastery(e.concept)
        events.append(
            MasteryEvent(
                student=student,
                curriculum=curriculum,
                concept=e.concept,
                kind=e.kind,
                correct=e.correct,
                weight=e.weight,
                mastery=touched[e.concept],
                message=message,
            )
        )
    row.state = learner.state.to_dict()
    row.save(update_fields=["state", "updated_at"])
    MasteryEvent.objects.bulk_create(events)
    # After the writes: outside a transaction (a script, the bench) on_commit runs at once.
    coaching_refresh_enqueue(student_id=student.pk, curriculum_slug=curriculum.slug)
    return touched


# --- Item responses and ability ---------------------------------------------------------------------------


def _rebuild_log_posterior(student: User, curriculum_id: int, bank: ItemBank) -> tuple[np.ndarray, int]:
    """The student's grid log-posterior from every stored response, with the parameters in force now."""
    rows = list(
        ItemResponse.objects.filter(student=student, curriculum_id=curriculum_id).values_list("item_id", "correct")
    )
    idx = np.array([bank.index[item_id] for item_id, _ in rows], dtype=np.int64)
    correct = np.array([c for _, c in rows], dtype=np.int64)
    log_post = log_posteriors(np.zeros(len(rows), np.int64), idx, correct, bank.params, 1)[0]
    return log_post, int(bank.usable[idx].sum()) if len(idx) else 0


def item_response_record(
    *,
    student: User,
    item: Item,
    correct: bool,
    source: str = ItemResponse.Source.PRACTICE,
    placement_test: PlacementTest | None = None,
    answer: str = "",
) -> ItemResponse:
    """Store one answer to an item, update the student's theta online and the mastery of the item's concepts.

    Why one function: the response, the ability it moves and the mastery
    evidence must agree, so they are written together in one transaction.
    The theta update adds one log-probability row to the stored 61-point
    posterior (``models.irt.update_theta``), so it costs the same after 5
    responses or 5,000; only when a newer calibration version exists is the
    posterior rebuilt from the stored responses. Within a placement test an
    item answered twice (a resubmitted form) returns the stored response.
    """
    # No savepoint: callers (a turn, a placement answer) roll back as a whole, and a savepoint is two statements.
    with transaction.atomic(savepoint=False):
        if placement_test is not None:
            stored = ItemResponse.objects.filter(placement=placement_test, item=item).first()
            if stored is not None:
                return stored
        curriculum = item.curriculum
        calibration = latest_calibration(curriculum)
        ability, _ = Ability.objects.select_for_update().get_or_create(student=student, curriculum=curriculum)
        bank = item_bank(curriculum, calibration)
        at = bank.index[item.pk]
        calibration_id = calibration.pk if calibration else None
        if ability.calibration_id != calibration_id or len(ability.log_posterior) != GRID_POINTS:
            log_post, n = _rebuild_log_posterior(student, curriculum.pk, bank)
        else:
            log_post, n = np.asarray(ability.log_posterior, dtype=float), ability.n_responses
        scored = bool(bank.usable[at])
        if scored:
            log_post, theta, se = update_theta(log_post, NODES, bank.params, at, int(bool(correct)))
            n += 1
        else:
            theta, se = posterior_moments(log_post)
        response = ItemResponse.objects.create(
            student=student,
            curriculum=curriculum,
            item=item,
            correct=bool(correct),
            source=source,
            placement=placement_test,
            answer=answer,
            theta=theta if scored else None,
            se=se if scored else None,
        )
        ability.theta, ability.se, ability.n_responses = theta, se, n
        ability.log_posterior = (log_post - log_post.max()).tolist()
        ability.calibration_id = calibration_id
        ability.save(update_fields=["theta", "se", "n_responses", "log_posterior", "calibration", "updated_at"])
        learner_evidence_record(
            student=student,
            curriculum=curriculum,
            evidence=[Evidence(key, bool(correct), kind="item") for key in bank.concepts[at]],
        )
    return response


# --- Recalibration ----------------------------------------------------------------------------------------

MIN_RESPONSES = 200  # per curriculum version: below this a refit is mostly prior
MIN_ITEM_RESPONSES = 20  # per item: fewer and the item keeps its authored parameters


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 6)


def responses_digest(persons: np.ndarray, items: np.ndarray, correct: np.ndarray, keys: tuple[str, ...]) -> str:
    """SHA-256 of a response set (in storage order) and the item keys its indices name."""
    digest = hashlib.sha256("\n".join(keys).encode())
    for arr in (persons.astype("<i8"), items.astype("<i8"), correct.astype("<i1")):
        digest.update(arr.tobytes())
    return digest.hexdigest()


def item_calibration_run(
    curriculum_id: int, model: str = "2pl", min_responses: int = MIN_RESPONSES
) -> ItemCalibration | None:
    """Refit a curriculum version's items on its stored responses; store a new version only if they changed.

    Idempotent: the hash of the response set (and the model type) decides,
    so a rerun on the same data fits nothing and stores nothing. The fit runs
    outside any transaction (it can take seconds); ``item_calibration_store``
    re-checks under a lock. Returns the new ``ItemCalibration`` or None.
    """
    curriculum = Curriculum.objects.get(pk=curriculum_id)
    bank = item_bank(curriculum)
    stored = ItemResponse.objects.filter(curriculum=curriculum).order_by("pk")
    rows = np.array(stored.values_list("student_id", "item_id", "correct"), dtype=np.int64).reshape(-1, 3)
    if len(rows) < min_responses:
        return None
    persons, correct = rows[:, 0], rows[:, 2]
    items = np.array([bank.index[i] for i in rows[:, 1]], dtype=np.int64)
    digest = responses_digest(persons, items, correct, bank.keys)
    latest = ItemCalibration.objects.filter(curriculum=curriculum).order_by("-version").first()
    if latest is not None and latest.responses_hash == digest and latest.model == model:
        return None
    try:
        fitted = IRTModel(model=model, n_items=len(bank.keys)).fit(persons, items, correct)
    except ValueError:  # every item all right, all wrong or unanswered: nothing to estimate
        return None
    counts = np.bincount(items, minlength=len(bank.keys))
    p, se = fitted.item_params_, fitted.se_
    params = {
        key: {"a": _num(p.a[i]), "b": _num(p.b[i]), "c": _num(p.c[i]), "se_a": _num(se.a[i]), "se_b": _num(se.b[i])}
        for i, key in enumerate(bank.keys)
        if counts[i] >= MIN_ITEM_RESPONSES and p.usable[i]
    }
    return item_calibration_store(
        curriculum=curriculum,
        model=model,
        params=params,
        responses=len(rows),
        persons=len(np.unique(persons)),
        responses_hash=digest,
        loglik=_num(fitted.loglik_),
    )


def item_calibration_store(
    *,
    curriculum: Curriculum,
    model: str,
    params: dict[str, dict],
    responses: int,
    responses_hash: str,
    persons: int = 0,
    loglik: float | None = None,
) -> ItemCalibration | None:
    """Store the next calibration version of ``curriculum`` and rescore its students' abilities with it.

    The latest version is re-read under a lock on the curriculum row, so two
    workers that fitted the same data store one version (the second gets
    None). This process forgets its cached latest version at once; other
    processes see the new one within ``calibration.LATEST_TTL_S``.
    """
    with transaction.atomic():
        Curriculum.objects.select_for_update().filter(pk=curriculum.pk).first()
        latest = ItemCalibration.objects.filter(curriculum=curriculum).order_by("-version").first()
        if latest is not None and latest.responses_hash == responses_hash and latest.model == model:
            return None
        calibration = ItemCalibration.objects.create(
            curriculum=curriculum,
            version=(latest.version + 1) if latest else 1,
            model=model,
            params=params,
            responses=responses,
            persons=persons,
            responses_hash=responses_hash,
            loglik=loglik,
        )
        abilities_rescore(curriculum, CalibrationRef(calibration.pk, calibration.created_at))
        forget_latest_calibration(curriculum.pk)
        transaction.on_commit(lambda: forget_latest_calibration(curriculum.pk))
    return calibration


def abilities_rescore(curriculum: Curriculum, calibration: CalibrationRef | None) -> int:
    """Recompute every stored ability in ``curriculum`` from scratch with ``calibration``'s parameters.

    One sparse product for all students (``log_posteriors``); the stored
    posteriors are then current, so the next response is incremental again.
    Call it inside a transaction. Returns the number of abilities written.
    """
    bank = item_bank(curriculum, calibration)
    rows = np.array(
        ItemResponse.objects.filter(curriculum=curriculum).values_list("student_id", "item_id", "correct"),
        dtype=np.int64,
    ).reshape(-1, 3)
    students, person = np.unique(rows[:, 0], return_inverse=True)
    items = np.array([bank.index[i] for i in rows[:, 1]], dtype=np.int64)
    log_post = log_posteriors(person, items, rows[:, 2], bank.params, len(students))
    scored = np.bincount(person, weights=bank.usable[items], minlength=len(students))
    at = {int(s): i for i, s in enumerate(students)}
    abilities = [a for a in Ability.objects.select_for_update().filter(curriculum=curriculum) if a.student_id in at]
    known = {a.student_id for a in abilities}
    abilities += [Ability(student_id=s, curriculum=curriculum) for s in at if s not in known]
    for ability in abilities:
        lp = log_post[at[ability.student_id]]
        ability.theta, ability.se = posterior_moments(lp)
        ability.n_responses = int(scored[at[ability.student_id]])
        ability.log_posterior = (lp - lp.max()).tolist()
        ability.calibration_id = calibration.pk if calibration else None
        ability.updated_at = timezone.now()
    Ability.objects.bulk_create([a for a in abilities if a.pk is None])
    fields = ["theta", "se", "n_responses", "log_posterior", "calibration", "updated_at"]
    Ability.objects.bulk_update([a for a in abilities if a.pk is not None], fields, batch_size=500)
    return len(abilities)


# --- The placement test -----------------------------------------------------------------------------------


class PlacementError(ValueError):
    """The placement test cannot do what was asked; the message is for the student."""


@dataclass(frozen=True)
class PlacementAnswer:
    test: PlacementTest
    response: ItemResponse | None  # None when the answer was a repeat and nothing was stored
    correct: bool | None


def _administered(test: PlacementTest, bank: ItemBank) -> list[int]:
    if test.pk is None:
        return []
    return [bank.index[i] for i in test.responses.values_list("item_id", flat=True)]


def _choose_next(test: PlacementTest, bank: ItemBank, rng=None) -> None:
    """Set the test's next item, or finish it when a stopping rule fires (the caller saves)."""
    administered = _administered(test, bank)
    reason = placement.stop_reason(bank, test.se, test.n_items, administered)
    at = None if reason else placement.next_item_index(bank, test.theta, administered, rng)
    if at is None:
        test.status, test.current_item = PlacementTest.Status.DONE, None
        test.stop_reason, test.finished_at = reason or PlacementTest.Stop.NO_ITEMS, timezone.now()
    else:
        test.current_item_id = bank.item_ids[at]


def placement_start(*, student: User, curriculum: Curriculum, rng=None) -> PlacementTest:
    """Start a placement test, or return the one already in progress (so a double click starts one)."""
    with transaction.atomic():
        active = PlacementTest.objects.filter(
            student=student, curriculum=curriculum, status=PlacementTest.Status.ACTIVE
        ).first()
        if active is not None:
            return active
        bank = item_bank(curriculum, latest_calibration(curriculum))
        if not bank.usable.any():
            raise PlacementError(f"{curriculum.title} has no calibrated questions yet, so there is no placement test.")
        test = PlacementTest(student=student, curriculum=curriculum)
        _choose_next(test, bank, rng)
        test.save()
    return test


def placement_answer(
    *, test: PlacementTest, item_id: int, text: str, dont_know: bool = False, rng=None
) -> PlacementAnswer:
    """Check and store the answer to the test's current item, update its estimate, pick the next item or stop.

    An answer for any other item than the one on screen (a resubmitted form
    after the test moved on, or a finished test) is ignored and stores
    nothing. "I don't know" counts as a wrong answer: skipping must not pay.
    """
    text = (text or "").strip()
    if not dont_know and not text:
        raise PlacementError("Type an answer, or choose “I don't know”.")
    if len(text) > placement.ANSWER_MAX_CHARS:
        raise PlacementError(f"Answers are at most {placement.ANSWER_MAX_CHARS} characters.")
    with transaction.atomic():
        test = (
            PlacementTest.objects.select_for_update(of=("self",))
            .select_related("current_item__curriculum")
            .get(pk=test.pk)
        )
        if test.status != PlacementTest.Status.ACTIVE or test.current_item_id != item_id:
            return PlacementAnswer(test=test, response=None, correct=None)
        item = test.current_item
        correct = False if dont_know else check(item.answer, text)
        response = item_response_record(
            student=test.student,
            item=item,
            correct=correct,
            source=ItemResponse.Source.PLACEMENT,
            placement_test=test,
            answer="" if dont_know else text,
        )
        bank = item_bank(test.curriculum, latest_calibration(test.curriculum))
        rows = list(test.responses.values_list("item_id", "correct"))
        idx = np.array([bank.index[i] for i, _ in rows], dtype=np.int64)
        right = np.array([c for _, c in rows], dtype=np.int64)
        log_post = log_posteriors(np.zeros(len(rows), np.int64), idx, right, bank.params, 1)[0]
        test.theta, test.se = posterior_moments(log_post)
        test.n_items = len(rows)
        _choose_next(test, bank, rng)
        test.save()
    return PlacementAnswer(test=test, response=response, correct=correct)

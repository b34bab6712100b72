"""The one write path into the learner model: ``learner_evidence_record()``.

The Diagnostician (today the scripted tutor's turn) turns what happened into
``Evidence`` and hands it here. The update is a few counter additions and a
logistic read per concept (microseconds), so it runs inside the turn's
transaction: a reply and the evidence it produced are stored together or not
at all.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from models.mastery import Evidence, LearnerState, MasteryModel
from tutor.accounts.models import User
from tutor.curricula.concept_graph import concept_graph
from tutor.curricula.models import Curriculum
from tutor.learners.models import LearnerModelState, MasteryEvent

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
    """Apply ``evidence`` to the student's model of ``curriculum``; return the new masteries it touched."""
    if not evidence:
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
    return touched

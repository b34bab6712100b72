"""Celery tasks of the learners app. They take ids, re-fetch, and delegate to ``actions``.

``recalibrate_items`` runs from Celery beat (``CELERY_BEAT_SCHEDULE`` in
settings, ``make beat``). It is idempotent: a curriculum whose response set
has not changed since its latest calibration version gets no new version, so
a beat that fires twice, or a redelivered task, costs a hash and nothing else.
"""

from __future__ import annotations

from celery import shared_task
from django.db.models import Count

from tutor.learners.actions import MIN_RESPONSES, item_calibration_run
from tutor.learners.models import ItemResponse


@shared_task(acks_late=True)
def recalibrate_items(curriculum_id: int | None = None, model: str = "2pl", min_responses: int = MIN_RESPONSES) -> int:
    """Refit the items of one curriculum version, or of every one with enough responses; returns new versions."""
    if curriculum_id is not None:
        ids = [curriculum_id]
    else:
        ids = list(
            ItemResponse.objects.values("curriculum")
            .annotate(n=Count("id"))
            .filter(n__gte=min_responses)
            .order_by("curriculum")
            .values_list("curriculum", flat=True)
        )
    return sum(item_calibration_run(cid, model=model, min_responses=min_responses) is not None for cid in ids)

"""Celery tasks of the curricula app. They take ids, re-fetch, and delegate."""

from celery import shared_task

from tutor.curricula.indexing import curriculum_index_passages


@shared_task(acks_late=True)
def index_passages(curriculum_id: int) -> int:
    """Embed a curriculum's passages. Idempotent: only missing or changed vectors."""
    return curriculum_index_passages(curriculum_id)

"""Celery tasks of the coaching app (``agents`` queue). They take ids, re-fetch, and delegate."""

from celery import shared_task
from django.core.cache import cache

from tutor.coaching.actions import coaching_aggregates_refresh, refresh_debounce_key


@shared_task(acks_late=True, max_retries=3, default_retry_delay=2)
def refresh_student(student_id: int, curriculum_slug: str) -> bool:
    """Rebuild one student's dashboard rows in one curriculum. Safe to run twice: it recomputes from source.

    The debounce key goes first, before any read: a turn committed from here
    on schedules a refresh of its own (``coaching.actions._refresh_schedule``).
    """
    cache.delete(refresh_debounce_key(student_id, curriculum_slug))
    return coaching_aggregates_refresh(student_id=student_id, curriculum_slug=curriculum_slug)

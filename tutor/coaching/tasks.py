"""Celery tasks of the coaching app (``agents`` queue). They take ids, re-fetch, and delegate."""

from celery import shared_task

from tutor.coaching.actions import coaching_aggregates_refresh


@shared_task(acks_late=True, max_retries=3, default_retry_delay=2)
def refresh_student(student_id: int, curriculum_slug: str) -> bool:
    """Rebuild one student's dashboard rows in one curriculum. Safe to run twice: it recomputes from source."""
    return coaching_aggregates_refresh(student_id=student_id, curriculum_slug=curriculum_slug)

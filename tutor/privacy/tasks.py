"""Celery beat tasks of the privacy app (queue ``agents``): due deletions and the transcript retention purge.

Both are idempotent: a deletion that ran is done and is skipped, and a purge
finds nothing older than the cutoff the second time. A redelivered task
(acks late) therefore costs a query and nothing else.
"""

from __future__ import annotations

from celery import shared_task

from tutor.privacy import actions


@shared_task(acks_late=True)
def privacy_deletions_due() -> list[int]:
    """Run every deletion request whose cool-off is over; returns the ids done."""
    return actions.deletions_due_run()


@shared_task(acks_late=True)
def transcripts_purge() -> dict[str, int]:
    """Delete tutoring transcripts older than ``PRIVACY_TRANSCRIPT_RETENTION_DAYS``; returns rows per table."""
    return actions.transcripts_purge()

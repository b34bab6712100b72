"""Every privacy write: export, deletion request / cancel / run, and the transcript retention purge.

Export and deletion ask every registered provider (``providers.py``), so a
new app joins by adding its ``privacy.py``; nothing here names an app's
models except the transcript purge, which is about tutoring sessions only.

Each action appends an audit event (``tutor.audit.actions.audit_record``)
with ids and counts only, never contents.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from tutor.accounts.models import User
from tutor.accounts.permissions import can_manage_privacy_of
from tutor.audit.actions import audit_record
from tutor.privacy.models import DeletionRequest
from tutor.privacy.providers import deleted, merge, providers

log = logging.getLogger(__name__)

# Spreadsheet programs run a cell that starts with one of these as a formula;
# a student's typed "=HYPERLINK(...)" must stay text when a teacher opens the CSV.
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PURGE_BATCH = 500


class PrivacyError(Exception):
    """A privacy request that cannot be done as asked; the message says why."""


def _check(actor: User, subject: User) -> None:
    if not can_manage_privacy_of(actor, subject):
        raise PermissionDenied(f"{actor.username} may not manage the data of user {subject.pk}")


# --- Export -------------------------------------------------------------------------------------------


def export_tables(subject: User) -> dict[str, list[dict[str, Any]]]:
    """``{table: rows}`` from every provider, tables in name order (the ZIP's content, unpacked)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for provider in providers():
        for name, found in provider.export(subject).items():
            tables.setdefault(name, []).extend(found)
    return dict(sorted(tables.items()))


def _csv_cell(value: Any, encoder: DjangoJSONEncoder) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = str(value)
    else:
        text = encoder.default(value)
    return "'" + text if text.startswith(CSV_FORMULA_PREFIXES) else text


def _csv(found: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in found:
        columns.extend(key for key in row if key not in columns)
    encoder = DjangoJSONEncoder()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in found:
        writer.writerow([_csv_cell(row.get(column), encoder) for column in columns])
    return out.getvalue()


def _readme(subject: User, actor: User, tables: dict[str, list[dict]], at: datetime) -> str:
    lines = [
        "Tutorgraph: export of one user's data",
        "",
        f"User:        {subject.username} (id {subject.pk})",
        f"Exported by: {actor.username}",
        f"Exported at: {at.isoformat()}",
        "",
        "Every table that holds this user's data has two files:",
        "  json/<table>.json  the rows as a JSON list of objects (machine-readable; GDPR Art. 20)",
        "  csv/<table>.csv    the same rows as CSV, one column per field; nested values are JSON text,",
        "                     and a cell starting with = + - @ is prefixed with ' so spreadsheets show it as text",
        "Columns ending in _id are ids of rows in other tables. Times are ISO 8601 in UTC.",
        "Passwords are never exported (only a hash is stored, and it is left out); session keys neither.",
        "The tutor's internal notes on each turn are exported as far as the student's own screen shows them.",
        "",
        "Tables (rows):",
    ]
    lines += [f"  {name}: {len(found)}" for name, found in tables.items()]
    lines += ["", "How this data is used, kept and deleted: docs/privacy.md in the Tutorgraph source."]
    return "\n".join(lines) + "\n"


def data_export(*, actor: User, subject: User, request: HttpRequest | None = None) -> bytes:
    """A ZIP of every row about ``subject``: README.txt, json/<table>.json and csv/<table>.csv.

    Built in memory: one user's data is small (thousands of rows at most).
    Reading changes nothing; the audit event records who exported whose data.
    """
    _check(actor, subject)
    at = timezone.now()
    tables = export_tables(subject)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(subject, actor, tables, at))
        for name, found in tables.items():
            archive.writestr(
                f"json/{name}.json", json.dumps(found, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
            )
            archive.writestr(f"csv/{name}.csv", _csv(found))
    audit_record(
        action="export",
        actor=actor,
        subject=subject,
        object_type="privacy_export",
        object_id=subject.pk,
        detail={"tables": len(tables), "rows": sum(len(found) for found in tables.values())},
        request=request,
    )
    return buffer.getvalue()


# --- Deletion -----------------------------------------------------------------------------------------


def pending_deletion(subject: User) -> DeletionRequest | None:
    return DeletionRequest.objects.filter(user=subject, status=DeletionRequest.Status.PENDING).first()


def deletion_request(*, actor: User, subject: User, request: HttpRequest | None = None) -> DeletionRequest:
    """Ask for ``subject``'s data to be deleted after the cool-off; asking again returns the pending request."""
    _check(actor, subject)
    existing = pending_deletion(subject)
    if existing is not None:
        return existing
    now = timezone.now()
    days = settings.PRIVACY_DELETION_COOL_OFF_DAYS
    try:
        with transaction.atomic():
            deletion = DeletionRequest.objects.create(
                user=subject,
                username=subject.username,
                requested_by=actor,
                requested_at=now,
                due_at=now + timedelta(days=days),
            )
            audit_record(
                action="delete_request",
                actor=actor,
                subject=subject,
                object_type="deletion_request",
                object_id=deletion.pk,
                detail={"due_at": deletion.due_at.isoformat(), "cool_off_days": days},
                request=request,
            )
    except IntegrityError:  # a concurrent request won the one-pending-per-user constraint
        existing = pending_deletion(subject)
        if existing is None:
            raise
        return existing
    return deletion


def deletion_cancel(*, actor: User, deletion: DeletionRequest, request: HttpRequest | None = None) -> DeletionRequest:
    """Cancel a pending request during its cool-off. A request that already ran cannot be undone."""
    if deletion.user is None:
        raise PrivacyError(f"deletion request {deletion.pk} has already run; it cannot be cancelled")
    _check(actor, deletion.user)
    with transaction.atomic():
        locked = DeletionRequest.objects.select_for_update().get(pk=deletion.pk)
        if locked.status != DeletionRequest.Status.PENDING:
            raise PrivacyError(f"deletion request {locked.pk} is {locked.get_status_display().lower()}, not pending")
        locked.status = DeletionRequest.Status.CANCELLED
        locked.cancelled_by = actor
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["status", "cancelled_by", "cancelled_at"])
        audit_record(
            action="delete_cancel",
            actor=actor,
            subject=locked.user,
            object_type="deletion_request",
            object_id=locked.pk,
            request=request,
        )
    return locked


def user_data_delete(user: User, *, pseudonym: str) -> dict[str, int]:
    """Run every provider's delete for ``user``, in order; the caller holds the transaction."""
    counts: dict[str, int] = {}
    for provider in providers():
        counts = merge(counts, provider.delete(user, pseudonym=pseudonym))
    return {name: n for name, n in sorted(counts.items()) if n}


def deletion_run(request_id: int, *, now: datetime | None = None) -> DeletionRequest:
    """Delete or anonymise every row of the request's user, in one transaction, once the cool-off is over.

    Re-runnable: a request that is done, cancelled or not yet due is returned
    unchanged, and a run that fails rolls back whole (``attempts`` still counts
    it and ``last_error`` says why), so the next run starts from the same state.
    """
    now = now or timezone.now()
    started = DeletionRequest.objects.filter(
        pk=request_id, status=DeletionRequest.Status.PENDING, due_at__lte=now
    ).update(attempts=F("attempts") + 1)
    if not started:
        return DeletionRequest.objects.get(pk=request_id)
    try:
        with transaction.atomic():
            deletion = DeletionRequest.objects.select_for_update().get(pk=request_id)
            if deletion.status != DeletionRequest.Status.PENDING:
                return deletion  # another worker finished it between our update and this lock
            pseudonym = deletion.pseudonym
            counts = user_data_delete(deletion.user, pseudonym=pseudonym) if deletion.user_id else {}
            deletion = DeletionRequest.objects.get(pk=request_id)  # the privacy provider anonymised it
            deletion.user = None
            deletion.username = pseudonym
            deletion.status = DeletionRequest.Status.DONE
            deletion.done_at = now
            deletion.counts = counts
            deletion.last_error = ""
            deletion.save()
            audit_record(
                action="delete_done",
                object_type="deletion_request",
                object_id=deletion.pk,
                detail={"pseudonym": pseudonym, "tables": len(counts), "rows": sum(counts.values())},
            )
    except Exception as exc:
        DeletionRequest.objects.filter(pk=request_id).update(last_error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    return deletion


def deletions_due_run(now: datetime | None = None) -> list[int]:
    """Run every pending request whose cool-off is over; one failure does not stop the others."""
    now = now or timezone.now()
    due = DeletionRequest.objects.filter(status=DeletionRequest.Status.PENDING, due_at__lte=now).order_by("due_at")
    done = []
    for request_id in due.values_list("pk", flat=True):
        try:
            if deletion_run(request_id, now=now).status == DeletionRequest.Status.DONE:
                done.append(request_id)
        except Exception:
            log.exception("deletion request %s failed; it stays pending and is retried next time", request_id)
    return done


# --- Retention ----------------------------------------------------------------------------------------


def transcripts_purge(now: datetime | None = None) -> dict[str, int]:
    """Delete tutoring sessions (with their messages) with no message newer than the retention period.

    A whole session goes or stays: deleting only its old messages would break
    its sequence numbers and replay. The learner model keeps what it learned
    from them (``MasteryEvent.message`` becomes NULL). Batches of
    ``PURGE_BATCH`` sessions, each its own transaction, so a large first purge
    does not hold one long lock; rerunning finds nothing more to do.
    ``PRIVACY_TRANSCRIPT_RETENTION_DAYS`` 0 or unset switches it off.
    """
    from tutor.dialogue.models import TutorSession

    days = settings.PRIVACY_TRANSCRIPT_RETENTION_DAYS
    if not days:
        return {}
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    old = TutorSession.objects.filter(created_at__lt=cutoff).exclude(messages__created_at__gte=cutoff)
    counts: dict[str, int] = {}
    while True:
        batch = list(old.order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            break
        with transaction.atomic():
            counts = merge(counts, deleted(TutorSession.objects.filter(pk__in=batch)))
    audit_record(
        action="retention_purge",
        object_type="transcript",
        detail={"retention_days": days, "cutoff": cutoff.isoformat(), **counts},
    )
    return counts

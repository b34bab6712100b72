"""Writes for curricula that start from the web: check an upload, publish it.

An upload is stored with its full validation report before anything is
imported, so an admin reviews every problem (or the summary and the graph
preview) and then publishes. Publishing calls ``curriculum_import()``, the
single write path shared with the CLI.
"""

from __future__ import annotations

from django.db import transaction

from tutor.accounts.models import User
from tutor.curricula.importer import CurriculumInvalid, curriculum_import
from tutor.curricula.models import Curriculum, CurriculumUpload
from tutor.curricula.package import MAX_FILE_BYTES, PackageError, read_package
from tutor.curricula.sources import convert
from tutor.curricula.validation import Issue, validate_package


class UploadError(ValueError):
    """The upload cannot be published; the message says why."""


def curriculum_upload_check(
    *, user: User, data: bytes, filename: str, fmt: str = "auto", break_cycles: bool = False
) -> CurriculumUpload:
    """Read and validate an uploaded file; store the upload with its report."""
    if len(data) > MAX_FILE_BYTES:
        issues = [Issue("", f"{filename}: {len(data)} bytes is over the {MAX_FILE_BYTES} byte limit", "size")]
        return _store(user, filename, fmt, None, issues, {}, break_cycles)
    try:
        doc, fmt = convert(read_package(data, filename), fmt)
    except PackageError as exc:
        return _store(user, filename, fmt, None, [Issue("", str(exc), "unreadable")], {}, break_cycles)
    report = validate_package(doc, break_cycles_=break_cycles)
    return _store(user, filename, fmt, doc, report.issues, report.summary, break_cycles)


def _store(user, filename, fmt, doc, issues, summary, break_cycles) -> CurriculumUpload:
    return CurriculumUpload.objects.create(
        uploaded_by=user,
        filename=filename[:255],
        source_format=fmt,
        package=doc if not issues else None,
        issues=[i.as_dict() for i in issues],
        summary=summary,
        break_cycles=break_cycles,
        status=CurriculumUpload.Status.INVALID if issues else CurriculumUpload.Status.VALID,
    )


def curriculum_upload_publish(*, upload: CurriculumUpload, user: User) -> Curriculum:
    """Import a checked upload. Publishing twice is refused, not repeated."""
    with transaction.atomic():
        upload = CurriculumUpload.objects.select_for_update().get(pk=upload.pk)
        if upload.status == CurriculumUpload.Status.PUBLISHED:
            raise UploadError(f"{upload.filename} is already published as {upload.curriculum}")
        if upload.status != CurriculumUpload.Status.VALID:
            raise UploadError(f"{upload.filename} has {len(upload.issues)} problem(s); fix them and upload again")
        try:
            result = curriculum_import(
                upload.package, source_format=upload.source_format, break_cycles=upload.break_cycles, user=user
            )
        except CurriculumInvalid as exc:  # validation rules changed since the check
            raise UploadError(str(exc)) from None
        upload.status = CurriculumUpload.Status.PUBLISHED
        upload.curriculum = result.curriculum
        upload.package = None  # the curriculum tables hold it now
        upload.save(update_fields=["status", "curriculum", "package"])
    return result.curriculum

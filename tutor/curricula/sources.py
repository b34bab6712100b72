"""Turn a file (or a directory) in any supported format into a package dict.

Formats: ``tutorgraph`` (our own, ``docs/curriculum-format.md``),
``coherence`` (the Achieve the Core Coherence Map JSON) and ``oatutor``
(OATutor's content pool, a directory or a zip of one). ``auto`` looks at the
content. Pure: no Django.
"""

from __future__ import annotations

from pathlib import Path

from tutor.curricula.package import PackageError, read_package

FORMATS = ("auto", "tutorgraph", "coherence", "oatutor")


def detect_format(doc: object) -> str:
    if isinstance(doc, dict) and "format" in doc:
        return "tutorgraph"
    if isinstance(doc, dict) and "nodes" in doc and "edges" in doc:
        return "coherence"
    raise PackageError(
        "cannot tell the format: expected a Tutorgraph package (with a 'format' key) "
        "or a coherence map (with 'nodes' and 'edges'); name one with --format"
    )


def convert(doc: object, fmt: str, *, package_id: str | None = None) -> tuple[object, str]:
    """The package for an already-parsed document, and the format it was in."""
    if fmt == "auto":
        fmt = detect_format(doc)
    if fmt == "tutorgraph":
        if package_id and isinstance(doc, dict):
            doc = {**doc, "id": package_id}
        return doc, fmt
    if fmt == "coherence":
        from tutor.curricula.formats.coherence import DEFAULT_ID, coherence_package

        try:
            return coherence_package(doc, package_id=package_id or DEFAULT_ID), fmt
        except ValueError as exc:
            raise PackageError(str(exc)) from None
    raise PackageError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")


def package_from_path(path: Path, fmt: str = "auto", *, package_id: str | None = None) -> tuple[object, str]:
    if not path.exists():
        raise PackageError(f"{path}: no such file or directory")
    if path.is_dir() or fmt == "oatutor":
        from tutor.curricula.formats.oatutor import read_oatutor

        if not path.is_dir():
            raise PackageError(f"{path}: an OATutor content pool is a directory")
        try:
            return read_oatutor(path, curriculum_id=package_id), "oatutor"
        except ValueError as exc:
            raise PackageError(f"{path}: {exc}") from None
    return convert(read_package(path.read_bytes(), path.name), fmt, package_id=package_id)

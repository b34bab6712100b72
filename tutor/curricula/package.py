"""Read a curriculum package from bytes: JSON, YAML or a zip holding one.

Pure (no Django). Reading is defensive because admins upload files from
anywhere: YAML is only ever ``safe_load``ed, zips are checked for size, entry
count and path traversal *before* anything is extracted, and nothing is
written to disk.
"""

from __future__ import annotations

import io
import json
import posixpath
import zipfile
from pathlib import PurePosixPath

import yaml

MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024  # a zip's contents, all entries together
MAX_ZIP_ENTRIES = 5000
# A plain JSON or YAML package: 50,000 problems take about 52 MB of JSON.
MAX_FILE_BYTES = 200 * 1024 * 1024
MANIFEST_NAMES = ("curriculum.json", "curriculum.yaml", "curriculum.yml")


class PackageError(ValueError):
    """The file cannot be read as a package; the message names the file and why."""


def read_package(data: bytes, filename: str) -> object:
    """Parse ``data`` (named ``filename``) into the package's JSON value."""
    name = filename.lower()
    if name.endswith(".zip") or data[:4] == b"PK\x03\x04":
        return _read_zip(data, filename)
    if len(data) > MAX_FILE_BYTES:
        raise PackageError(f"{filename}: {len(data)} bytes is over the {MAX_FILE_BYTES} byte limit")
    if name.endswith((".yaml", ".yml")):
        return _parse_yaml(data, filename)
    if name.endswith(".json"):
        return _parse_json(data, filename)
    raise PackageError(f"{filename}: expected a .json, .yaml, .yml or .zip file")


def _text(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PackageError(f"{filename}: not UTF-8 text (byte {exc.start} is invalid)") from None


def _parse_json(data: bytes, filename: str) -> object:
    try:
        return json.loads(_text(data, filename))
    except json.JSONDecodeError as exc:
        raise PackageError(f"{filename}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def _parse_yaml(data: bytes, filename: str) -> object:
    try:
        return yaml.safe_load(_text(data, filename))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PackageError(f"{filename}: invalid YAML{where}: {problem}") from None


def _read_zip(data: bytes, filename: str) -> object:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise PackageError(f"{filename}: not a valid zip file") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise PackageError(f"{filename}: {len(entries)} entries is over the {MAX_ZIP_ENTRIES} entry limit")
        total = sum(e.file_size for e in entries)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise PackageError(
                f"{filename}: {total} bytes uncompressed is over the {MAX_UNCOMPRESSED_BYTES} byte limit"
            )
        for entry in entries:
            if _unsafe(entry.filename):
                raise PackageError(f"{filename}: entry {entry.filename!r} points outside the package")
        manifests = [e for e in entries if e.filename in MANIFEST_NAMES]
        if len(manifests) != 1:
            found = ", ".join(e.filename for e in manifests) or "none"
            raise PackageError(
                f"{filename}: expected exactly one of {', '.join(MANIFEST_NAMES)} at the top level (found {found})"
            )
        manifest = manifests[0]
        # Read at most the declared size: a lying header cannot inflate memory.
        with archive.open(manifest) as fh:
            body = fh.read(manifest.file_size + 1)
        if len(body) > manifest.file_size:
            raise PackageError(f"{filename}: {manifest.filename} is larger than its zip header says")
        inner = f"{filename}/{manifest.filename}"
        if manifest.filename.endswith(".json"):
            return _parse_json(body, inner)
        return _parse_yaml(body, inner)


def _unsafe(name: str) -> bool:
    if name.startswith(("/", "\\")) or "\\" in name or (len(name) > 1 and name[1] == ":"):
        return True
    parts = PurePosixPath(posixpath.normpath(name)).parts
    return ".." in PurePosixPath(name).parts or (parts and parts[0] == "..")

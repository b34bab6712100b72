"""The model registry: one directory per trained model, ``<MODEL_REGISTRY_DIR>/<name>/``.

An entry holds ``model_card.json`` (base, dataset hash, hyperparameters,
metrics, wall time), the ``adapter/`` (or full ``model/``), ``checkpoints/``
and, once evaluated, ``eval_report.json``. Training writes into a hidden
temporary directory and renames it into place when the card is written, so
a listed entry is always complete and a crashed run leaves no half entry
(and cannot overwrite a finished one).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CARD = "model_card.json"
REPORT = "eval_report.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class RegistryError(RuntimeError):
    """A bad name, an existing entry, or a missing model."""


def check_name(name: str) -> str:
    """Names are path segments: letters, digits, ``.``, ``_`` and ``-``.

    >>> check_name("tutor-smollm2-v1")
    'tutor-smollm2-v1'
    >>> check_name("../etc")
    Traceback (most recent call last):
    ...
    models.llm.registry.RegistryError: bad model name '../etc': use letters, digits, '.', '_' and '-'
    """
    if not _NAME.match(name) or name.startswith("."):
        raise RegistryError(f"bad model name {name!r}: use letters, digits, '.', '_' and '-'")
    return name


@contextmanager
def new_entry(registry_dir: str | Path, name: str) -> Iterator[Path]:
    """A temporary directory that becomes ``<registry_dir>/<name>`` when the block succeeds."""
    final = Path(registry_dir) / check_name(name)
    if final.exists():
        raise RegistryError(f"model {name!r} already exists in {registry_dir}")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
    try:
        yield tmp
        tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_card(entry: Path, card: dict) -> None:
    (Path(entry) / CARD).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")


def entry_dir(registry_dir: str | Path, name: str) -> Path:
    path = Path(registry_dir) / check_name(name)
    if not (path / CARD).is_file():
        raise RegistryError(f"no model {name!r} in {registry_dir}")
    return path


def read_card(registry_dir: str | Path, name: str) -> dict:
    return json.loads((entry_dir(registry_dir, name) / CARD).read_text())


def list_models(registry_dir: str | Path) -> list[dict]:
    """The cards of every complete entry, by name."""
    root = Path(registry_dir)
    if not root.is_dir():
        return []
    return [json.loads((p / CARD).read_text()) for p in sorted(root.iterdir()) if (p / CARD).is_file()]

"""Every tutor model this installation knows: the ones trained here and the ones shipped in the repository.

Two registry directories (``models.llm.registry`` layout, one entry per
name): ``settings.MODEL_REGISTRY_DIR`` (``train_tutor`` writes there) and
``settings.SHIPPED_MODELS_DIR`` (``models/registry/`` in the repository,
read-only: adapters committed with their card and evaluation report). A name
is looked up in the trained registry first, so reproducing a shipped model
here (``make tutor-model``) evaluates and serves the local copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from models.llm import registry
from models.llm.base import SMOLLM2_NAME, BaseModelError, is_model_dir, resolve_base, smollm2_gguf


@dataclass(frozen=True)
class Entry:
    """One registered model: its directory, card, evaluation report (if any) and where it comes from."""

    name: str
    path: Path
    card: dict
    report: dict | None
    shipped: bool

    @property
    def adapter_dir(self) -> Path | None:
        return self.path / "adapter" if self.card.get("kind") == "lora" else None

    def model_dirs(self) -> tuple[Path, Path | None]:
        """(base model directory, adapter directory or None) to load this model from.

        A LoRA entry is its base plus ``adapter/``; a full model is ``model/``.
        The base is found by name when the card has one (a shipped card's path
        is the training machine's), else by the card's path.
        """
        if self.card.get("kind") != "lora":
            return self.path / "model", None
        return resolve_base(self.card.get("base_name") or self.card["base"], settings.DATA_DIR), self.adapter_dir


def _roots() -> list[tuple[Path, bool]]:
    return [(Path(settings.MODEL_REGISTRY_DIR), False), (Path(settings.SHIPPED_MODELS_DIR), True)]


def _entry(root: Path, name: str, shipped: bool) -> Entry | None:
    path = root / name
    try:
        card = json.loads((path / registry.CARD).read_text())
    except (OSError, ValueError):
        return None
    try:
        report = json.loads((path / registry.REPORT).read_text())
    except (OSError, ValueError):
        report = None
    return Entry(name, path, card, report, shipped)


def find(name: str) -> Entry:
    """The entry called ``name`` (trained first, then shipped); ``RegistryError`` naming both places if none."""
    registry.check_name(name)
    for root, shipped in _roots():
        entry = _entry(root, name, shipped)
        if entry is not None:
            return entry
    raise registry.RegistryError(f"no model {name!r} in {settings.MODEL_REGISTRY_DIR} or {settings.SHIPPED_MODELS_DIR}")


def all_models() -> list[Entry]:
    """Every complete entry, by name; a trained entry hides a shipped one of the same name."""
    seen: dict[str, Entry] = {}
    for root, shipped in _roots():
        if not root.is_dir():
            continue
        for path in sorted(root.iterdir()):
            if path.name.startswith(".") or path.name in seen:
                continue
            entry = _entry(root, path.name, shipped)
            if entry is not None:
                seen[path.name] = entry
    return sorted(seen.values(), key=lambda e: e.name)


def resolvable(entry: Entry) -> bool:
    """Whether the entry's weights can be loaded here, without loading or converting anything.

    The built-in base counts when it is converted already or its GGUF package
    is installed (the first load converts it); any other base must be an HF
    directory. A LoRA entry needs its adapter weights and config.
    """
    card = entry.card
    if card.get("kind") != "lora":
        return is_model_dir(entry.path / "model")
    adapter = entry.adapter_dir
    if not (adapter / "adapter_model.safetensors").is_file() or not (adapter / "adapter_config.json").is_file():
        return False
    if card.get("base_name") == SMOLLM2_NAME:
        if is_model_dir(Path(settings.DATA_DIR) / "models" / SMOLLM2_NAME):
            return True
        try:
            smollm2_gguf()
        except BaseModelError:
            return False
        return True
    return is_model_dir(Path(card.get("base", "")))

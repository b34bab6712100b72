"""Shared, expensive artefacts for the tests/test_llm_*.py files, each made once per test run.

Converting the real SmolLM2 GGUF takes ~20 s and a 2-step LoRA run ~10 s on
2 cores, so they are made once under pytest's session base temp directory and
reused: both helpers are idempotent on a fixed path (``base_model_dir``
reuses a complete conversion; a registered model is read back), so every
test module may call them, in any order, and pay only once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.llm.base import base_model_dir
from models.llm.dataset import DatasetConfig, build_dataset
from models.llm.train import TrainConfig, train_to_registry
from tutor.agents.simstudents import load_problem_keys

DEMO = Path(__file__).resolve().parent.parent / "tutor" / "curricula" / "demo"
TINY_MODEL = "tiny-lora"
TINY_TRAIN = TrainConfig(steps=2, batch_size=1, eval_examples=2, save_every=1)


def session_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    return tmp_path_factory.getbasetemp() / f"llm-{name}"


def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real SmolLM2, converted from its GGUF once per run."""
    return base_model_dir(session_dir(tmp_path_factory, "data"))


def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three fraction problems: one per split (~80 train examples). Fast: no model involved."""
    out = session_dir(tmp_path_factory, "dataset")
    if not (out / "dataset_card.json").is_file():
        problems = load_problem_keys(DEMO / "fractions.yaml")
        build_dataset(problems, out, ["fractions"], DatasetConfig(seed=0, max_problems=3))
    return out


def tiny_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding ``TINY_MODEL``: 2 LoRA steps of SmolLM2 on the tiny dataset."""
    registry = session_dir(tmp_path_factory, "registry")
    if not (registry / TINY_MODEL / "model_card.json").is_file():
        dataset, base = tiny_dataset(tmp_path_factory), smollm2_dir(tmp_path_factory)
        train_to_registry(dataset, base, registry, TINY_MODEL, TINY_TRAIN)
    return registry

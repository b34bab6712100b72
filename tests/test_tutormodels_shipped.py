"""The shipped fine-tuned adapter (``models/registry/``): complete, small, reproducible data, and it meets the bar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from models.llm.dataset import DatasetConfig, build_dataset
from tutor.tutormodels import catalog
from tutor.tutormodels.curricula import problems_for

NAME = "tutor-smollm2-lora-v1"
ENTRY = Path(settings.BASE_DIR) / "models" / "registry" / NAME
DEMOS = ["fractions", "cell-biology"]


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((ENTRY / "model_card.json").read_text())


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads((ENTRY / "eval_report.json").read_text())


def test_the_shipped_entry_is_complete_and_holds_only_a_small_adapter():
    files = sorted(p.relative_to(ENTRY).as_posix() for p in ENTRY.rglob("*") if p.is_file())
    assert files == [
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
        "eval_report.json",
        "model_card.json",
    ]
    assert (ENTRY / "adapter" / "adapter_model.safetensors").stat().st_size < 8_000_000
    adapter = json.loads((ENTRY / "adapter" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA"


def test_the_card_names_its_base_data_hyperparameters_metrics_and_time(card):
    assert card["name"] == NAME and card["kind"] == "lora" and card["base_name"] == "smollm2-135m-instruct"
    assert card["dataset"]["curriculum"] == DEMOS and len(card["dataset"]["hash"]) == 64
    assert card["hyperparameters"]["lora"] and card["hyperparameters"]["steps"] >= 20
    for key in ("train_loss_first", "train_loss_last", "validation_loss", "train_examples", "seconds_per_step"):
        assert card["metrics"][key] is not None
    assert card["metrics"]["train_loss_last"] < card["metrics"]["train_loss_first"]
    assert card["wall_time_s"] > 0


def test_the_card_and_the_report_agree_on_the_dataset_and_the_model(card, report):
    assert report["model"] == NAME
    assert report["dataset_hash"] == card["dataset"]["hash"]
    assert report["split"] == "test" and report["n"] >= 20
    assert set(report["systems"]) == {"finetuned", "base", "scripted"}
    assert set(report["dialogues"]) == {"finetuned", "base", "scripted"}


def test_the_report_is_consistent_and_the_guarded_adapter_never_tells(report):
    tuned, base = report["systems"]["finetuned"], report["systems"]["base"]
    assert report["gain_over"]["base"]["action_accuracy"] == pytest.approx(
        tuned["action"]["accuracy"] - base["action"]["accuracy"], abs=1e-6
    )
    assert report["systems"]["scripted"]["action"]["accuracy"] == 1.0  # the harness replays the gold
    assert report["dialogues"]["finetuned"]["telling_rate"] == 0.0
    assert report["dialogues"]["finetuned"]["fallbacks"] == 0  # the model worded every turn itself


def test_the_adapter_beats_the_base_by_30_points_of_action_accuracy_with_valid_json(report):
    """The issue's bar, on the held-out split, both models decoded as served (labels from the code books)."""
    assert report["decoding"] == "structured" and report["n"] >= 40
    tuned, base = report["systems"]["finetuned"], report["systems"]["base"]
    assert tuned["json_validity"] >= 0.98
    assert tuned["action"]["accuracy"] - base["action"]["accuracy"] >= 0.30
    # The unaided shape is reported beside it, for the reader (docs/tutor-models.md).
    assert 0.0 <= report["finetuned_free_decoding"]["json_validity"] <= 1.0


def test_the_dataset_hash_is_reproduced_from_the_demo_curricula(card, tmp_path):
    """``make tutor-model`` builds the data with the defaults (seed 0): the same bytes, so the same hash."""
    problems = [p for c in DEMOS for p in problems_for(c)]
    rebuilt = build_dataset(problems, tmp_path, DEMOS, DatasetConfig())
    assert rebuilt["dataset_hash"] == card["dataset"]["hash"]


def test_the_shipped_model_is_found_by_name_and_can_be_served(settings, tmp_path):
    settings.MODEL_REGISTRY_DIR = tmp_path  # nothing trained here: the shipped entry answers
    entry = catalog.find(NAME)
    assert entry.shipped and entry.report is not None and catalog.resolvable(entry)

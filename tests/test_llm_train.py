"""Fine-tuning: the loss covers the target only, runs are seeded, and train_tutor registers a model card."""

from __future__ import annotations

import json

import pytest
import torch
from django.core.management import CommandError, call_command

from models.llm.dataset import read_card, read_split
from models.llm.registry import list_models
from models.llm.registry import read_card as read_model_card
from models.llm.train import IGNORE, TrainConfig, collate, encode, fit, load_model, target_loss
from tests.llm_fixtures import TINY_MODEL, TINY_TRAIN, smollm2_dir, tiny_dataset, tiny_registry


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    return smollm2_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return tiny_dataset(tmp_path_factory)


@pytest.fixture(scope="module")
def tokenizer_and_model(smollm2):
    return load_model(smollm2, TrainConfig(lora=False))


def test_only_the_target_and_end_of_turn_are_learned(tokenizer_and_model, dataset):
    tokenizer, _ = tokenizer_and_model
    example = read_split(dataset, "train")[0]
    ids, labels, _ = encode(tokenizer, example, max_len=2048)
    learned = [t for t in labels if t != IGNORE]
    assert tokenizer.decode(learned[:-1]) == example["target"]
    assert learned[-1] == tokenizer.eos_token_id
    assert labels[: len(labels) - len(learned)] == [IGNORE] * (len(labels) - len(learned))
    assert encode(tokenizer, example, max_len=len(ids) - 1) is None


def test_the_target_only_loss_equals_the_full_model_loss_with_masked_labels(tokenizer_and_model, dataset):
    tokenizer, model = tokenizer_and_model
    rows = [encode(tokenizer, e, 2048) for e in read_split(dataset, "train")[:2]]
    with torch.no_grad():
        singles = [target_loss(model, collate([row], tokenizer.pad_token_id)) for row in rows]
        for (ids, labels, _), (ours, _) in zip(rows, singles, strict=True):
            reference = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss
            assert float(ours) == pytest.approx(float(reference), rel=1e-4)
        # Left-padded together, rows of different lengths give the same token-weighted loss.
        batch, n = target_loss(model, collate(rows, tokenizer.pad_token_id))
    weighted = sum(float(loss) * k for loss, k in singles) / sum(k for _, k in singles)
    assert n == sum(k for _, k in singles)
    assert float(batch) == pytest.approx(weighted, rel=1e-3)


def test_label_weight_raises_the_label_tokens_share_of_the_loss(tokenizer_and_model, dataset):
    """At weight w the loss is (w * label CE + string CE) / (w * label tokens + string tokens)."""
    tokenizer, model = tokenizer_and_model
    example = read_split(dataset, "train")[0]
    plain, weighted = encode(tokenizer, example, 2048), encode(tokenizer, example, 2048, label_weight=5.0)
    heavy = [i for i, w in enumerate(weighted[2]) if w == 5.0]
    labels_text = example["target"][: example["target"].find(',"subproblem":')]
    assert tokenizer.decode([weighted[0][i] for i in heavy]).startswith(labels_text[:-2])
    assert plain[0] == weighted[0] and set(plain[2]) == {0.0, 1.0}
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([plain[0]])).logits[0, :-1].float()
        each = torch.nn.functional.cross_entropy(
            logits, torch.tensor(plain[1][1:]), ignore_index=IGNORE, reduction="none"
        )
        w = torch.tensor(weighted[2][1:])
        expected = float((each * w).sum() / w.sum())
        ours, _ = target_loss(model, collate([weighted], tokenizer.pad_token_id))
    assert float(ours) == pytest.approx(expected, rel=1e-4)
    assert float(ours) != pytest.approx(
        float(target_loss(model, collate([plain], tokenizer.pad_token_id))[0]), rel=1e-3
    )


def test_train_tutor_two_lora_steps_registers_an_adapter_with_its_card(tmp_path_factory, dataset):
    registry = tiny_registry(tmp_path_factory)
    entry = registry / TINY_MODEL
    card = read_model_card(registry, TINY_MODEL)
    assert card["kind"] == "lora"
    assert card["dataset"]["hash"] == read_card(dataset)["dataset_hash"]
    assert card["hyperparameters"]["steps"] == 2 and card["hyperparameters"]["r"] == TINY_TRAIN.r
    assert card["metrics"]["train_examples"] > 0 and card["metrics"]["validation_loss"] > 0
    assert 0 < card["metrics"]["trainable_parameters"] < 5_000_000
    assert card["wall_time_s"] > 0
    assert (entry / "adapter" / "adapter_model.safetensors").is_file()
    assert (entry / "checkpoints" / "step-1" / "adapter_model.safetensors").is_file()
    assert [c["name"] for c in list_models(registry)] == [TINY_MODEL]


def test_the_same_seed_trains_the_same_adapter(smollm2, dataset, tmp_path):
    config = TrainConfig(steps=1, batch_size=1, eval_examples=0, save_every=0, seed=7)
    first = fit(dataset, smollm2, tmp_path / "a", config)
    second = fit(dataset, smollm2, tmp_path / "b", config)
    assert first["train_loss_first"] == second["train_loss_first"]
    a = (tmp_path / "a" / "adapter" / "adapter_model.safetensors").read_bytes()
    assert a == (tmp_path / "b" / "adapter" / "adapter_model.safetensors").read_bytes()


def test_the_command_trains_into_the_settings_registry_and_refuses_a_taken_name(
    smollm2, dataset, tmp_path, settings, capsys
):
    settings.MODEL_REGISTRY_DIR = tmp_path / "registry"
    args = ["--dataset", str(dataset), "--base", str(smollm2), "--lora", "--steps", "1", "--name", "cmd"]
    call_command("train_tutor", *args, "--batch-size", "1", "--eval-examples", "1")
    assert json.loads(capsys.readouterr().out)["name"] == "cmd"
    assert read_model_card(settings.MODEL_REGISTRY_DIR, "cmd")["hyperparameters"]["steps"] == 1
    with pytest.raises(CommandError, match="already exists"):
        call_command("train_tutor", *args)
    with pytest.raises(CommandError, match="not an HF-format model directory"):
        call_command("train_tutor", "--dataset", str(dataset), "--base", str(tmp_path), "--steps", "1")

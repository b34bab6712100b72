"""Fine-tuning the turn model: seeded LoRA (peft) or full training with a plain torch loop.

Why a plain loop rather than ``transformers.Trainer``: the job is small
(one model, one dataset, a few hundred steps), and a loop we can read shows
exactly what is optimised: the loss covers the *target* tokens only (the
JSON turn record and the end-of-turn token), never the prompt, so the
model learns to answer, not to reproduce system prompts.

Everything random is seeded from ``TrainConfig.seed`` (LoRA initialisation,
batch order, dropout), so the same dataset, base and config give the same
adapter on the same hardware. The result is written as a registry entry
(``registry.py``): the adapter (or full model), checkpoints, and a model card
with the base, the dataset hash, the hyperparameters, metrics and wall time.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from models.llm.dataset import read_card, read_split

IGNORE = -100


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters. Defaults: LoRA r=16 on the attention projections, as measured in DESIGN.md.

    ``max_len`` drops (and counts) the rare example whose prompt and target
    do not fit, rather than cutting the system message or the target.
    ``save_every`` writes an adapter checkpoint every that many steps (0: none).
    """

    lr: float = 2e-4
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    steps: int = 300
    batch_size: int = 8
    max_len: int = 768
    seed: int = 0
    lora: bool = True
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    # LoRA on the top N decoder layers only (0: all). Backpropagation then stops at the lowest adapted
    # layer, so a step costs a forward pass plus a backward through N layers: the CPU budget's main lever.
    top_layers: int = 0
    bf16: bool = False  # bfloat16 autocast for the forward pass (GPU, or a CPU with bf16 units: auto_dtype)
    warmup_fraction: float = 0.05
    save_every: int = 100
    eval_examples: int = 32
    num_threads: int | None = None
    log_every: int = 0  # print the loss and the pace every N steps (0: quiet)
    # Loss weight of the label tokens (evaluation, action, state) against the strings'. The
    # labels are ~15 of a target's ~70 tokens, so at 1 the words dominate what a short run learns.
    label_weight: float = 1.0
    device: str | None = None  # None: cuda when available, else cpu


def pick_device(requested: str | None = None) -> str:
    """The torch device to run on: as asked, else the GPU when there is one (the same code serves both)."""
    import torch

    return requested or ("cuda" if torch.cuda.is_available() else "cpu")


def encode(
    tokenizer: Any, example: dict, max_len: int, label_weight: float = 1.0
) -> tuple[list[int], list[int], list[float]] | None:
    """Token ids, labels and loss weights for one example: prompt masked out, target plus end-of-turn learned.

    Target tokens that start inside the label fields (up to ``,"subproblem":``)
    weigh ``label_weight``; the rest, and the end-of-turn token, weigh 1.
    """
    prompt = tokenizer.apply_chat_template(example["messages"], add_generation_prompt=True, return_dict=True)[
        "input_ids"
    ]
    target = example["target"]
    encoded = tokenizer(target, add_special_tokens=False, return_offsets_mapping=True)
    labels_end = target.find(',"subproblem":')
    weights = [label_weight if start < labels_end else 1.0 for start, _ in encoded["offset_mapping"]] + [1.0]
    target_ids = list(encoded["input_ids"]) + [tokenizer.eos_token_id]
    if len(prompt) + len(target_ids) > max_len:
        return None
    return list(prompt) + target_ids, [IGNORE] * len(prompt) + target_ids, [0.0] * len(prompt) + weights


def collate(rows: list[tuple[list[int], list[int], list[float]]], pad_id: int) -> dict:
    """Left-padded tensors, so every row's target sits at the right end.

    Then the loss needs logits for the last ``keep`` positions only: the
    49k-word output layer is never run over the ~450 prompt tokens, which
    saves most of the logits' memory and a good share of the compute.
    Padding is masked from attention, and positions count from each row's
    first real token.
    """
    import torch

    width = max(len(row[0]) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    weights = torch.zeros((len(rows), width), dtype=torch.float)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (row_ids, row_labels, row_weights) in enumerate(rows):
        ids[i, width - len(row_ids) :] = torch.tensor(row_ids)
        labels[i, width - len(row_labels) :] = torch.tensor(row_labels)
        weights[i, width - len(row_weights) :] = torch.tensor(row_weights)
        mask[i, width - len(row_ids) :] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    learned = (labels != IGNORE).any(dim=0).nonzero()
    keep = width - int(learned[0]) if len(learned) else 1
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "position_ids": positions,
        "labels": labels,
        "weights": weights,
        "keep": keep,
    }


def target_loss(model: Any, batch: dict) -> tuple[Any, int]:
    """Cross-entropy over the target tokens, weighted by ``batch["weights"]``, and how many tokens there were."""
    import torch.nn.functional as F

    keep, device = batch["keep"], model.device
    out = model(
        input_ids=batch["input_ids"].to(device),
        attention_mask=batch["attention_mask"].to(device),
        position_ids=batch["position_ids"].to(device),
        logits_to_keep=keep + 1,
    )
    logits = out.logits[:, :-1, :]  # the logit at position t predicts token t + 1
    gold = batch["labels"][:, -keep:].to(device)
    weights = batch["weights"][:, -keep:].to(device).reshape(-1)
    n = int((gold != IGNORE).sum())
    each = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), gold.reshape(-1), ignore_index=IGNORE, reduction="none"
    )
    return (each * weights).sum() / weights.sum().clamp(min=1e-9), n


def _seed(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def load_model(base_dir: Path, config: TrainConfig) -> tuple[Any, Any]:
    """The tokenizer and the model to train: the base wrapped in LoRA, or the base itself."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True)
    if config.lora:
        from peft import LoraConfig, get_peft_model

        layers = model.config.num_hidden_layers
        top = min(config.top_layers, layers) if config.top_layers else layers
        lora = LoraConfig(
            r=config.r,
            lora_alpha=config.alpha,
            lora_dropout=config.dropout,
            target_modules=list(config.target_modules),
            layers_to_transform=list(range(layers - top, layers)) if top < layers else None,
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    return tokenizer, model


def _mean_loss(model: Any, rows: list, pad_id: int, batch_size: int) -> float | None:
    import torch

    if not rows:
        return None
    model.eval()
    total = tokens = 0.0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = collate(rows[start : start + batch_size], pad_id)
            loss, n = target_loss(model, batch)
            total += float(loss) * n
            tokens += n
    model.train()
    return total / tokens if tokens else None


def _encode_all(tokenizer: Any, examples: list[dict], max_len: int, label_weight: float = 1.0) -> tuple[list, int]:
    """The encoded examples that fit ``max_len``, and how many did not."""
    rows = [encode(tokenizer, e, max_len, label_weight) for e in examples]
    kept = [r for r in rows if r is not None]
    return kept, len(rows) - len(kept)


def fit(dataset_dir: str | Path, base_dir: str | Path, out_dir: str | Path, config: TrainConfig) -> dict:
    """Train on ``dataset_dir``'s train split; write the adapter and return the card's metrics part.

    ``out_dir`` receives ``adapter/`` (LoRA) or ``model/`` (full), and
    ``checkpoints/step-N/``. The caller writes the model card.
    """
    import torch

    started = time.perf_counter()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    _seed(config.seed)
    out = Path(out_dir)
    tokenizer, model = load_model(Path(base_dir), config)
    model.to(pick_device(config.device))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    train_rows, skipped = _encode_all(tokenizer, read_split(dataset_dir, "train"), config.max_len, config.label_weight)
    if not train_rows:
        raise ValueError(f"no training example fits max_len={config.max_len} ({skipped} skipped)")
    validation = read_split(dataset_dir, "validation")
    # Spread over the split (it is ordered by problem), not its first problem only.
    sample = validation[:: max(1, len(validation) // config.eval_examples)] if config.eval_examples else []
    val_rows, _ = _encode_all(tokenizer, sample[: config.eval_examples], config.max_len)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=0.0)
    warmup = max(1, int(config.warmup_fraction * config.steps))

    def schedule(step: int) -> float:  # linear warm-up, then linear decay to 10%
        if step < warmup:
            return (step + 1) / warmup
        return max(0.1, 1.0 - 0.9 * (step - warmup) / max(1, config.steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    order = random.Random(config.seed)
    queue: list[int] = []
    losses: list[float] = []
    model.train()
    loop_started = time.perf_counter()
    for step in range(1, config.steps + 1):
        if len(queue) < config.batch_size:
            more = list(range(len(train_rows)))
            order.shuffle(more)
            queue += more
        batch_ids, queue = queue[: config.batch_size], queue[config.batch_size :]
        with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=config.bf16):
            loss, _ = target_loss(model, collate([train_rows[i] for i in batch_ids], pad_id))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if config.log_every and (step % config.log_every == 0 or step == 1):
            rate = (time.perf_counter() - loop_started) / step
            print(f"step {step}/{config.steps} loss {losses[-1]:.4f} {rate:.2f} s/step", flush=True)
        if config.save_every and step % config.save_every == 0 and step < config.steps:
            model.save_pretrained(out / "checkpoints" / f"step-{step}")
    train_seconds = time.perf_counter() - loop_started

    final = out / ("adapter" if config.lora else "model")
    model.save_pretrained(final)
    tokenizer.save_pretrained(final)
    tail = losses[-min(10, len(losses)) :]
    val_loss = _mean_loss(model, val_rows, pad_id, config.batch_size)
    return {
        "train_loss_first": losses[0],
        "train_loss_last": losses[-1],
        "train_loss_tail_mean": sum(tail) / len(tail),
        "validation_loss": val_loss,
        "validation_perplexity": math.exp(val_loss) if val_loss is not None and val_loss < 50 else None,
        "validation_examples": len(val_rows),
        "train_examples": len(train_rows),
        "skipped_overlong": skipped,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "seconds_per_step": train_seconds / config.steps,
        "device": str(model.device),
        "wall_time_s": time.perf_counter() - started,
    }


def train_to_registry(
    dataset_dir: str | Path,
    base_dir: str | Path,
    registry_dir: str | Path,
    name: str,
    config: TrainConfig,
    base_name: str | None = None,
) -> dict:
    """``fit`` into a registry entry, then write its model card; returns the card.

    ``base_name`` names a built-in base (``models.llm.base.resolve_base``), so a
    card read on another machine finds its base without the training path.
    """
    from models.llm import registry

    card_dataset = read_card(dataset_dir)
    with registry.new_entry(registry_dir, name) as entry:
        metrics = fit(dataset_dir, base_dir, entry, config)
        card = {
            "name": name,
            "kind": "lora" if config.lora else "full",
            "base": str(Path(base_dir).resolve()),
            "base_name": base_name,
            "dataset": {
                "path": str(Path(dataset_dir).resolve()),
                "hash": card_dataset["dataset_hash"],
                "curriculum": card_dataset["curriculum"],
            },
            "hyperparameters": asdict(config),
            "metrics": {k: v for k, v in metrics.items() if k != "wall_time_s"},
            "wall_time_s": metrics["wall_time_s"],
            "versions": _versions(),
        }
        registry.write_card(entry, card)
    return card


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("torch", "transformers", "peft"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out

"""``manage.py train_tutor --dataset DIR --base PATH [--lora] [--steps N]``: a model into the registry."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from models.llm.base import SMOLLM2_NAME, BaseModelError, resolve_base
from models.llm.dataset import read_card
from models.llm.registry import RegistryError
from models.llm.train import TrainConfig, train_to_registry


class Command(BaseCommand):
    help = "Fine-tune the turn model (LoRA with --lora, else full) and register it with a model card."

    def add_arguments(self, parser):
        defaults = TrainConfig()
        parser.add_argument("--dataset", required=True, help="a build_tutor_dataset output directory")
        parser.add_argument("--base", default=SMOLLM2_NAME, help=f"{SMOLLM2_NAME} (default) or an HF model directory")
        parser.add_argument("--lora", action="store_true", help="train a LoRA adapter instead of every weight")
        parser.add_argument("--steps", type=int, default=defaults.steps)
        parser.add_argument("--name", default=None, help="registry name (default: from base, dataset and config)")
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument("--lr", type=float, default=defaults.lr)
        parser.add_argument("--r", type=int, default=defaults.r)
        parser.add_argument("--alpha", type=int, default=defaults.alpha)
        parser.add_argument("--dropout", type=float, default=defaults.dropout)
        parser.add_argument("--max-len", type=int, default=defaults.max_len)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--save-every", type=int, default=defaults.save_every)
        parser.add_argument("--eval-examples", type=int, default=defaults.eval_examples)
        parser.add_argument(
            "--top-layers", type=int, default=defaults.top_layers, help="LoRA on the top N layers; 0: all"
        )
        parser.add_argument(
            "--target-modules", default=",".join(defaults.target_modules), help="comma-separated, e.g. q_proj,v_proj"
        )
        parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (a GPU, or a CPU with bf16 units)")
        parser.add_argument(
            "--label-weight",
            type=float,
            default=defaults.label_weight,
            help="loss weight of the label tokens (evaluation, action, state) against the strings'",
        )
        parser.add_argument("--log-every", type=int, default=0, help="print loss and s/step every N steps")
        parser.add_argument("--threads", type=int, default=None)
        parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")

    def handle(self, *args, **opts):
        config = TrainConfig(
            lr=opts["lr"],
            r=opts["r"],
            alpha=opts["alpha"],
            dropout=opts["dropout"],
            steps=opts["steps"],
            batch_size=opts["batch_size"],
            max_len=opts["max_len"],
            seed=opts["seed"],
            lora=opts["lora"],
            save_every=opts["save_every"],
            eval_examples=opts["eval_examples"],
            num_threads=opts["threads"],
            top_layers=opts["top_layers"],
            target_modules=tuple(m.strip() for m in opts["target_modules"].split(",") if m.strip()),
            bf16=opts["bf16"],
            log_every=opts["log_every"],
            label_weight=opts["label_weight"],
            device=opts["device"],
        )
        try:
            dataset_hash = read_card(opts["dataset"])["dataset_hash"]
            base = resolve_base(opts["base"], settings.DATA_DIR)
        except (OSError, KeyError, BaseModelError) as error:
            raise CommandError(str(error)) from error
        kind = "lora" if config.lora else "full"
        name = opts["name"] or f"{base.name}-{kind}-{dataset_hash[:8]}-s{config.steps}-seed{config.seed}"
        try:
            card = train_to_registry(
                opts["dataset"], base, settings.MODEL_REGISTRY_DIR, name, config, base_name=_base_name(opts["base"])
            )
        except (RegistryError, ValueError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps({"name": name, "metrics": card["metrics"], "wall_time_s": card["wall_time_s"]}))


def _base_name(requested: str) -> str | None:
    """The built-in base's name, which any machine can resolve (a path is only good where it was trained)."""
    return SMOLLM2_NAME if requested in (SMOLLM2_NAME, "smollm2", "") else None

"""``manage.py eval_tutor --model NAME``: the held-out test split, side by side with base and scripted."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from models.llm import registry
from models.llm.evaluate import LMPredictor, ScriptedPredictor, evaluate, gains, write_report

TUNED = "finetuned"  # the evaluated model's row; report["model"] names it


class Command(BaseCommand):
    help = "Score a registered model's turn records (JSON validity, accuracy, macro-F1) against gold."

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="registry name")
        parser.add_argument("--dataset", default=None, help="default: the dataset the model was trained on")
        parser.add_argument("--split", default="test", choices=("train", "validation", "test"))
        parser.add_argument("--limit", type=int, default=None, help="score N examples spread over the split")
        parser.add_argument("--max-new-tokens", type=int, default=160)
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
        parser.add_argument("--no-base", action="store_true", help="skip the untuned base (saves time)")

    def handle(self, *args, **opts):
        try:
            entry = registry.entry_dir(settings.MODEL_REGISTRY_DIR, opts["model"])
            card = registry.read_card(settings.MODEL_REGISTRY_DIR, opts["model"])
        except registry.RegistryError as error:
            raise CommandError(str(error)) from error
        dataset = opts["dataset"] or card["dataset"]["path"]
        base = Path(card["base"])
        generation = {k: opts[k] for k in ("max_new_tokens", "batch_size", "device")}
        if card["kind"] == "lora":
            tuned = LMPredictor(TUNED, base, entry / "adapter", **generation)
        else:
            tuned = LMPredictor(TUNED, entry / "model", **generation)
        systems = [tuned]
        if not opts["no_base"]:
            systems.append(LMPredictor("base", base, **generation))
        systems.append(ScriptedPredictor(dataset))
        try:
            report = evaluate(systems, dataset, split=opts["split"], limit=opts["limit"])
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        report["model"] = opts["model"]
        report["gain_over"] = {ref: gains(report, TUNED, ref) for ref in report["systems"] if ref != TUNED}
        path = write_report(entry, report)
        summary = {name: {k: v for k, v in r.items() if k != "n"} for name, r in report["systems"].items()}
        self.stdout.write(json.dumps({"report": str(path), "n": report["n"], "systems": summary}))

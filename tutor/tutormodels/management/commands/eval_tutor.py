"""``manage.py eval_tutor --model NAME``: held-out labels and simulated students, beside base and scripted.

Two measurements in one run, every system on the same examples:

- the held-out ``test`` split (problems the model never trained on): the
  model writes the whole turn record from the prompt alone; JSON validity,
  and accuracy and macro-F1 of evaluation, action and state against gold.
  ``--decoding structured`` (the default) has the model choose each label
  from its code book by likelihood and keeps the shape by grammar, as
  served; ``--decoding free`` is plain greedy generation, whose validity
  measures whether the model writes the shape unaided;
- the simulated students on the same held-out problems: the policy decides,
  the model words each turn after the decided labels (as served), and we
  count telling (before and after the leak guard) and success@7.

Systems: the fine-tuned model (``finetuned``), its untuned base (``base``)
and the scripted tutor (``scripted``). The report goes into the model's
registry entry as ``eval_report.json``.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from models.llm import registry
from models.llm.base import BaseModelError
from models.llm.dataset import read_split
from models.llm.evaluate import (
    DECODINGS,
    LMPredictor,
    ScriptedPredictor,
    evaluate,
    gains,
    run,
    simulate,
    spread,
    write_report,
)
from models.llm.serving import resolve_dtype
from models.llm.simulate import LMWriter
from models.llm.train import pick_device
from models.llm.turnformat import LABELS
from tutor.tutormodels import catalog

TUNED = "finetuned"  # the evaluated model's row; report["model"] names it


def free_decoding(predictor: LMPredictor, dataset, split: str, limit: int | None) -> dict:
    """Validity and label accuracies of ``predictor`` on the report's examples, plus three raw outputs."""
    examples = spread(read_split(dataset, split), limit)
    result, outputs = run(predictor, examples)
    return {
        "json_validity": result["json_validity"],
        **{label: result[label]["accuracy"] for label in LABELS},
        "samples": outputs[:3],
    }


class Command(BaseCommand):
    help = "Score a registered model: held-out turn records and simulated-student dialogues, beside base and scripted."

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="registry name")
        parser.add_argument("--dataset", default=None, help="default: the dataset the model was trained on")
        parser.add_argument("--split", default="test", choices=("train", "validation", "test"))
        parser.add_argument("--limit", type=int, default=None, help="score N examples spread over the split")
        parser.add_argument("--dialogues", type=int, default=40, help="simulated dialogues, spread (0: none)")
        parser.add_argument("--max-turns", type=int, default=7, help="student turns per simulated dialogue")
        parser.add_argument("--max-new-tokens", type=int, default=160)
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
        parser.add_argument(
            "--dtype",
            default="auto",
            choices=("auto", "float32", "bfloat16"),
            help="weights' dtype (auto: as the engine serves on this machine; see models.llm.serving.auto_dtype)",
        )
        parser.add_argument("--utterance-tokens", type=int, default=64, help="most tokens of a worded utterance")
        parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is best on a busy CPU)")
        parser.add_argument("--no-base", action="store_true", help="skip the untuned base (saves time)")
        parser.add_argument(
            "--decoding",
            choices=DECODINGS,
            default="structured",
            help="structured: labels chosen from the code books by likelihood, the shape by grammar, as served "
            "(models/llm/structured.py); free: plain greedy generation, which also measures the JSON shape",
        )

    def handle(self, *args, **opts):
        if opts["dialogues"] < 0 or opts["max_turns"] < 1:
            raise CommandError("--dialogues must be 0 or more and --max-turns at least 1")
        if opts["threads"]:
            import torch

            torch.set_num_threads(opts["threads"])
        try:
            entry = catalog.find(opts["model"])
            base, adapter = entry.model_dirs()
        except (registry.RegistryError, BaseModelError) as error:
            raise CommandError(str(error)) from error
        dataset = opts["dataset"] or entry.card["dataset"]["path"]
        generation = {k: opts[k] for k in ("max_new_tokens", "batch_size", "device", "decoding", "dtype")}
        tuned_dir, tuned_adapter = (base, adapter) if adapter is not None else (entry.path / "model", None)
        systems = [LMPredictor(TUNED, tuned_dir, tuned_adapter, **generation)]
        if not opts["no_base"]:
            systems.append(LMPredictor("base", base, **generation))
        systems.append(ScriptedPredictor(dataset))
        try:
            report = evaluate(systems, dataset, split=opts["split"], limit=opts["limit"])
            if opts["decoding"] == "structured":
                # The same model writing the record unaided, for the reader: how much the grammar carries.
                free = LMPredictor(TUNED, tuned_dir, tuned_adapter, **(generation | {"decoding": "free"}))
                report["finetuned_free_decoding"] = free_decoding(free, dataset, opts["split"], opts["limit"])
            if opts["dialogues"]:
                # The utterance alone: the labels are forced, as when served.
                wording = {k: opts[k] for k in ("batch_size", "device", "dtype")}
                wording["max_new_tokens"] = opts["utterance_tokens"]
                writers = {TUNED: LMWriter(TUNED, tuned_dir, tuned_adapter, **wording)}
                if not opts["no_base"]:
                    writers["base"] = LMWriter("base", base, **wording)
                writers["scripted"] = None
                report["dialogues"] = simulate(
                    writers, dataset, split=opts["split"], limit=opts["dialogues"], max_turns=opts["max_turns"]
                )
        except (OSError, ValueError) as error:
            raise CommandError(f"{error} (dataset {dataset}: rebuild it with build_tutor_dataset)") from error
        report["model"] = opts["model"]
        report["decoding"] = opts["decoding"]
        report["dtype"] = resolve_dtype(opts["dtype"], pick_device(opts["device"]))  # what the systems ran in
        report["gain_over"] = {ref: gains(report, TUNED, ref) for ref in report["systems"] if ref != TUNED}
        path = write_report(entry.path, report)
        summary = {name: {k: v for k, v in r.items() if k != "n"} for name, r in report["systems"].items()}
        dialogues = {
            name: {k: r[k] for k in ("success_at_7", "telling_rate_raw", "telling_rate", "fallbacks")}
            for name, r in report.get("dialogues", {}).items()
        }
        self.stdout.write(
            json.dumps({"report": str(path), "n": report["n"], "systems": summary, "dialogues": dialogues})
        )

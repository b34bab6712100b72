"""Evaluating a turn model on held-out problems, side by side with the untuned base and the scripted tutor.

For each example of a split (``test`` by default: problems the model never
trained on) every system writes a turn record, and we score:

- ``json_validity``: the share of outputs that parse as a valid record
  (``turnformat.parse_record``);
- for evaluation, action and subproblem_state: ``accuracy`` and ``macro_f1``
  against the gold labels. An invalid output counts as wrong for every label.
  Macro-F1 averages over the classes present in the gold labels, so a rare
  class (a clarifying question, say) weighs as much as a common one.

The scripted system replays the real pipeline on each example's snapshot.
It is the policy that produced the gold labels, so it should score 1.0:
that row checks the harness (a replay that drifts from the dataset shows up
here), and it is the bar a fine-tuned model is measured against.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from models.llm.dataset import read_card, read_problems, read_split
from models.llm.turnformat import LABELS, parse_record, target_text
from tutor.agents import pipeline
from tutor.agents.problem import Position


class Predictor(Protocol):
    name: str

    def predict(self, examples: Sequence[dict]) -> list[str]:
        """One raw output text per example, in order."""
        ...


def accuracy(gold: Sequence, predicted: Sequence) -> float:
    """The share of exact matches.

    >>> accuracy([1, 2, 3, 4], [1, 2, 4, None])
    0.5
    """
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence, predicted: Sequence) -> float:
    """F1 averaged over the gold classes (a class never predicted scores 0).

    >>> macro_f1(["a", "a", "b"], ["a", "a", "a"])
    0.4
    """
    classes = sorted(set(gold), key=str)
    if not classes:
        return 0.0
    total = 0.0
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, predicted, strict=True))
        total += 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return total / len(classes)


def score(examples: Sequence[dict], outputs: Sequence[str]) -> dict:
    """JSON validity and per-label accuracy and macro-F1 of ``outputs`` against the examples' gold."""
    parsed = [parse_record(text) for text in outputs]
    validity = sum(p is not None for p in parsed) / len(examples) if examples else 0.0
    result: dict[str, Any] = {
        "n": len(examples),
        "json_validity": validity,
        "json_validity_se": standard_error(validity, len(examples)),
    }
    for label in LABELS:
        gold = [e["labels"][label] for e in examples]
        predicted = [p[label] if p is not None else None for p in parsed]
        acc = accuracy(gold, predicted)
        result[label] = {
            "accuracy": acc,
            "accuracy_se": standard_error(acc, len(examples)),
            "macro_f1": macro_f1(gold, predicted),
        }
    return result


def standard_error(p: float, n: int) -> float:
    """The binomial standard error of a proportion ``p`` measured on ``n`` examples.

    >>> round(standard_error(0.5, 100), 3)
    0.05
    """
    return math.sqrt(p * (1 - p) / n) if n else 0.0


class ScriptedPredictor:
    """The real pipeline with the scripted verbaliser, replayed on each example's snapshot."""

    name = "scripted"

    def __init__(self, dataset_dir: str | Path) -> None:
        self.problems = read_problems(dataset_dir)

    def predict(self, examples: Sequence[dict]) -> list[str]:
        out = []
        for e in examples:
            snap = e["input"]
            inp = pipeline.TurnInput(
                self.problems[e["problem_id"]],
                Position(**snap["position"]),
                snap["kind"],
                snap["text"],
                max_attempts=snap["max_attempts"],
                seq=snap["seq"],
            )
            out.append(target_text(pipeline.turn(inp).record.as_dict()))
        return out


DECODINGS = ("structured", "free")


@dataclass
class LMPredictor:
    """A model directory, optionally with a LoRA adapter on top, writing one record per example.

    ``decoding``:

    - ``"free"``: greedy ``generate``; prompts are left-padded into batches,
      so one call serves ``batch_size`` examples. Validity measures whether
      the model writes the JSON shape unaided.
    - ``"structured"``: ``models.llm.structured``: the model picks every label
      from its code book by likelihood and writes the strings, and the shape
      is the grammar's, as when served. One example at a time.
    """

    name: str
    model_dir: Path
    adapter_dir: Path | None = None
    max_new_tokens: int = 160
    batch_size: int = 8
    device: str | None = None  # None: cuda when available, else cpu
    decoding: str = "free"
    dtype: str = "auto"  # auto: as served (models.llm.serving.auto_dtype), float32, bfloat16

    def __post_init__(self) -> None:
        if self.decoding not in DECODINGS:
            raise ValueError(f"decoding {self.decoding!r} must be one of {', '.join(DECODINGS)}")

    def _load(self) -> tuple[Any, Any]:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        tokenizer.padding_side = "left"
        model = AutoModelForCausalLM.from_pretrained(self.model_dir, local_files_only=True)
        if self.adapter_dir is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, self.adapter_dir)
        import torch

        from models.llm.serving import keep_weights_foldable, resolve_dtype
        from models.llm.train import pick_device

        device = pick_device(self.device)
        model.to(device=device, dtype=getattr(torch, resolve_dtype(self.dtype, device)))
        keep_weights_foldable(model).eval()  # generation runs without autograd: nothing is trained
        return tokenizer, model

    def predict(self, examples: Sequence[dict]) -> list[str]:

        tokenizer, model = self._load()
        if self.decoding == "structured":
            from models.llm.structured import StructuredConfig, decode_record

            config = StructuredConfig()
            prompts = [
                tokenizer.apply_chat_template(e["messages"], add_generation_prompt=True, return_dict=True)["input_ids"]
                for e in examples
            ]
            return [decode_record(model, tokenizer, list(ids), config) for ids in prompts]
        texts = [
            tokenizer.apply_chat_template(e["messages"], add_generation_prompt=True, tokenize=False) for e in examples
        ]
        return greedy_batches(tokenizer, model, texts, self.max_new_tokens, self.batch_size, done=object_closed)


def greedy_batches(
    tokenizer: Any, model: Any, texts: Sequence[str], max_new_tokens: int, batch_size: int, done: Callable[[str], bool]
) -> list[str]:
    """Greedy continuations of ``texts``, left-padded ``batch_size`` at a time; a row stops once ``done(its text)``."""
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: list[str] = []
    for start in range(0, len(texts), batch_size):
        inputs = tokenizer(
            list(texts[start : start + batch_size]), return_tensors="pt", padding=True, add_special_tokens=False
        ).to(model.device)
        width = inputs["input_ids"].shape[1]
        with torch.no_grad():
            generated = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad,
                stopping_criteria=[_RowsDone(tokenizer, width, done)],
            )
        out += tokenizer.batch_decode(generated[:, width:], skip_special_tokens=True)
    return out


def object_closed(text: str) -> bool:
    """Whether the first JSON object in ``text`` is complete (``parse_record`` reads no further).

    >>> object_closed('x {"a": "}", "b": {"c": 1}} more'), object_closed('{"a": "}"')
    (True, False)
    """
    start = text.find("{")
    if start < 0:
        return False
    depth, in_string, escaped = 0, False, False
    for ch in text[start:]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return True
    return False


class _RowsDone:
    """A stopping criterion: each row stops once ``done`` holds for its new text (a model need not run on)."""

    def __init__(self, tokenizer: Any, width: int, done: Callable[[str], bool]) -> None:
        self.tokenizer, self.width, self.done = tokenizer, width, done

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        texts = self.tokenizer.batch_decode(input_ids[:, self.width :], skip_special_tokens=True)
        return torch.tensor([self.done(t) for t in texts], device=input_ids.device)


def spread(examples: list[dict], limit: int | None) -> list[dict]:
    """At most ``limit`` examples evenly spaced over the split, which is ordered by problem and dialogue.

    >>> [e["i"] for e in spread([{"i": i} for i in range(10)], 3)]
    [0, 3, 6]
    """
    if limit is None or limit >= len(examples):
        return examples
    return examples[:: max(1, len(examples) // max(1, limit))][:limit]


def run(predictor: Predictor, examples: Sequence[dict]) -> tuple[dict, list[str]]:
    """Score one system, with its time per example."""
    started = time.perf_counter()
    outputs = predictor.predict(examples)
    result = score(examples, outputs)
    result["seconds_per_example"] = (time.perf_counter() - started) / len(examples) if examples else 0.0
    return result, outputs


def evaluate(
    systems: Sequence[Predictor], dataset_dir: str | Path, split: str = "test", limit: int | None = None
) -> dict:
    """Every system on the same examples; the report, with a few raw outputs per system for reading."""
    examples = spread(read_split(dataset_dir, split), limit)
    if not examples:
        raise ValueError(f"the {split} split of {dataset_dir} is empty")
    report: dict[str, Any] = {
        "dataset": str(Path(dataset_dir).resolve()),
        "dataset_hash": read_card(dataset_dir)["dataset_hash"],
        "split": split,
        "n": len(examples),
        "systems": {},
        "samples": {},
    }
    for system in systems:
        result, outputs = run(system, examples)
        report["systems"][system.name] = result
        report["samples"][system.name] = [
            {"id": e["id"], "gold": e["target"], "output": o} for e, o in zip(examples[:3], outputs[:3], strict=False)
        ]
    return report


def dialogue_pairs(dataset_dir: str | Path, split: str = "test", limit: int | None = None) -> list:
    """(problem, simulated student) pairs on the split's problems, at most ``limit`` spread over them."""
    from tutor.agents.simstudents import population

    card = read_card(dataset_dir)
    problems = read_problems(dataset_dir)
    held_out = [problems[pid] for pid in card["problems"][split] if pid in problems]
    return spread(population(held_out, seed=card["seed"]), limit)


def simulate(
    writers: dict[str, Any], dataset_dir: str | Path, split: str = "test", limit: int | None = None, max_turns: int = 7
) -> dict:
    """Telling rate and success@7 for each named writer (None: the scripted tutor), on the same dialogues."""
    from models.llm.simulate import play_all

    if not dialogue_pairs(dataset_dir, split, limit):
        raise ValueError(f"the {split} split of {dataset_dir} has no problems to play")
    max_attempts = read_card(dataset_dir)["config"]["max_attempts"]
    out = {}
    for name, writer in writers.items():
        started = time.perf_counter()
        # Fresh students for each system: a student keeps state within its dialogue.
        pairs = dialogue_pairs(dataset_dir, split, limit)
        out[name] = play_all(pairs, writer, max_attempts=max_attempts, max_turns=max_turns)
        out[name]["seconds"] = time.perf_counter() - started
    return out


def gains(report: dict, system: str, reference: str) -> dict:
    """How far ``system`` is ahead of ``reference``: validity and each label's accuracy, in points of 1.0.

    >>> r = {"systems": {"t": {"json_validity": 1.0, "evaluation": {"accuracy": 0.9}, "action": {"accuracy": 0.8},
    ...      "subproblem_state": {"accuracy": 0.7}}, "b": {"json_validity": 0.0, "evaluation": {"accuracy": 0.1},
    ...      "action": {"accuracy": 0.3}, "subproblem_state": {"accuracy": 0.2}}}}
    >>> gains(r, "t", "b")["action_accuracy"]
    0.5
    """
    a, b = report["systems"][system], report["systems"][reference]
    out = {"json_validity": round(a["json_validity"] - b["json_validity"], 6)}
    out |= {f"{label}_accuracy": round(a[label]["accuracy"] - b[label]["accuracy"], 6) for label in LABELS}
    return out


def write_report(entry: Path, report: dict) -> Path:
    from models.llm.registry import REPORT

    path = Path(entry) / REPORT
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return path

"""Does the tutor-model pipeline run unchanged on a GPU? One script for a lent CUDA machine.

    python bench/device_check.py --model DIR [--steps 30] [--device cuda] [--skip-bench] [--skip-train]

``DIR`` is a model directory (config, tokenizer and, if they fit the trip,
weights). Without weights the model is initialised at random (seed 0) from
its config and saved beside: the real SmolLM2 weights (98 MB as GGUF) do not
fit the 64 MiB a device call may carry, and nothing checked here depends on
them: greedy decoding must match ``model.generate`` token for token whatever
the weights, and speed depends on the shapes alone.

Checks, each a key of the JSON on the last line of stdout:

- ``cuda_untouched_before_first_request``: building an ``Engine`` (as a
  Celery parent does, before forking) initialises no CUDA; the first
  request does;
- ``engine_matches_generate``: four concurrent requests of different
  lengths through the engine (float32) give the tokens of plain
  ``model.generate``, one by one; the same with bfloat16 is reported, not
  required (a batch may round differently);
- ``prefill_then_turn``: ``Engine.prefill`` of a prompt's first half (as
  the next turn is prefilled while a student types), then the whole prompt:
  exactly the prefilled tokens are reused and the words match ``generate``;
- ``train``: ``train_to_registry`` for ``--steps`` LoRA steps on the tiny
  fractions dataset, float32 and with bf16 autocast: seconds per step, loss
  finite; then the engine serves base + adapter;
- ``generation``: ``bench/generation.py`` on this device (its own JSON).

The exit status is 1 when a required check fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutor.settings")
os.environ.update(REDIS_URL="", TUTOR_WARM_UP="0")

PROMPTS = [
    "Alice adds 3/4 and 1/8. What should she do first?",
    "Why do we need a common denominator?",
    "The student said 4/12. Is that right?",
    "Explain what mitochondria do in a cell, in one sentence, for a student who has never heard of them.",
]


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def with_weights(source: Path, work: Path) -> Path:
    """``source`` if it holds weights, else a copy with random weights (seed 0) from its config."""
    if any(source.glob("*.safetensors")):
        return source
    import shutil

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    out = work / "random-init"
    shutil.copytree(source, out, dirs_exist_ok=True)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(out), dtype=torch.float32)
    model.to(torch.bfloat16).save_pretrained(out)  # half the bytes to write and read back; loads as float32
    log(f"random weights for {source.name}: {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters")
    return out


def plain_words(engine, ids: list[int], n: int) -> str:
    """``model.generate``'s n greedy tokens after ``ids``, as text: what the engine must match."""
    import torch

    eos = engine.model.generation_config.eos_token_id
    with torch.inference_mode():
        out = engine.model.generate(
            torch.tensor([ids], device=engine.device), max_new_tokens=n, min_new_tokens=n, do_sample=False,
            pad_token_id=eos if isinstance(eos, int) else eos[0],
        )  # fmt: skip
    return engine.tokenizer.decode(out[0, len(ids) :].tolist(), skip_special_tokens=True)


def concurrent_texts(engine, prompts: list[list[int]], lengths: list[int]) -> list[str]:
    results = [""] * len(prompts)
    requests = [
        engine.submit(p, max_new_tokens=n, min_new_tokens=n, timeout_s=120)
        for p, n in zip(prompts, lengths, strict=True)
    ]

    def read(i: int) -> None:
        results[i] = "".join(engine.deltas(requests[i]))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def batched_vs_generate(model_dir: Path, device: str, dtype: str) -> dict:
    """Four requests decoded together in one batch, each against ``model.generate`` alone."""
    from models.llm.serving import Engine, EngineConfig

    engine = Engine(EngineConfig(base_dir=str(model_dir), device=device, dtype=dtype))
    engine.load()
    tok = engine.tokenizer
    prompts = [tok(p, add_special_tokens=False)["input_ids"] for p in PROMPTS]
    lengths = [24, 8, 16, 12]  # rows leave the batch at different steps
    steps0 = engine.steps
    streamed = concurrent_texts(engine, prompts, lengths)
    steps = engine.steps - steps0
    matches = [plain_words(engine, ids, n) == text for ids, n, text in zip(prompts, lengths, streamed, strict=True)]
    engine.close()
    return {"device": engine.device, "dtype": engine.dtype, "all_match": all(matches), "matches": matches,
            "decode_steps": steps, "steps_one_by_one": sum(n - 1 for n in lengths)}  # fmt: skip


def prefill_then_turn(model_dir: Path, device: str) -> dict:
    """``Engine.prefill`` of a prompt's first half, then the whole prompt: reused exactly, words as ``generate``."""
    from models.llm.serving import Engine, EngineConfig

    engine = Engine(EngineConfig(base_dir=str(model_dir), device=device, dtype="float32"))
    engine.load()
    ids = engine.tokenizer(" ".join(PROMPTS), add_special_tokens=False)["input_ids"]
    head = ids[: len(ids) // 2]
    list(engine.deltas(engine.prefill(head, cache_key="session")))
    request = engine.submit(ids, max_new_tokens=8, min_new_tokens=8, timeout_s=120, cache_key="session")
    text = "".join(engine.deltas(request))
    plain = plain_words(engine, ids, 8)
    engine.close()
    return {"prefilled": len(head), "reused": request.reused_tokens, "matches_generate": text == plain,
            "ok": request.reused_tokens == len(head) and text == plain}  # fmt: skip


def cuda_untouched(model_dir: Path, device: str) -> dict:
    """Build the engine as a worker parent does; CUDA must wait for the first request."""
    import torch

    from models.llm.serving import EngineConfig, shared_engine

    engine = shared_engine(EngineConfig(base_dir=str(model_dir), device=device))
    before = torch.cuda.is_initialized()
    "".join(engine.stream([1, 2, 3, 4], max_new_tokens=2, timeout_s=120))
    after = torch.cuda.is_initialized()
    engine.close()
    return {"before_first_request": before, "after_first_request": after, "ok": (not before) and after}


def train(model_dir: Path, work: Path, device: str, steps: int) -> dict:
    from models.llm.dataset import DatasetConfig, build_dataset
    from models.llm.serving import Engine, EngineConfig
    from models.llm.train import TrainConfig, train_to_registry
    from tutor.agents.simstudents import load_problem_keys

    dataset = work / "dataset"
    problems = load_problem_keys(ROOT / "tutor" / "curricula" / "demo" / "fractions.yaml")
    build_dataset(problems, dataset, ["fractions"], DatasetConfig(seed=0, max_problems=3))
    out = {}
    for name, bf16 in (("float32", False), ("bf16_autocast", True)):
        config = TrainConfig(steps=steps, batch_size=4, eval_examples=8, save_every=0, bf16=bf16, device=device)
        card = train_to_registry(dataset, model_dir, work / "registry", f"check-{name.replace('_', '-')}", config)
        m = card["metrics"]
        out[name] = {
            "device": m["device"],
            "seconds_per_step": round(m["seconds_per_step"], 4),
            "train_loss_first": round(m["train_loss_first"], 4),
            "train_loss_last": round(m["train_loss_last"], 4),
            "finite": all(math.isfinite(m[k]) for k in ("train_loss_first", "train_loss_last")),
        }
    adapter = work / "registry" / "check-bf16-autocast" / "adapter"
    engine = Engine(EngineConfig(base_dir=str(model_dir), adapter_dir=str(adapter), device=device))
    text = "".join(engine.stream(engine_ids(engine), max_new_tokens=8, min_new_tokens=8, timeout_s=120))
    out["serves_adapter"] = {"device": engine.device, "dtype": engine.dtype, "tokens": 8, "chars": len(text)}
    engine.close()
    return out


def engine_ids(engine) -> list[int]:
    engine.load()
    return engine.tokenizer(PROMPTS[0], add_special_tokens=False)["input_ids"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model directory: config and tokenizer, weights optional")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=30, help="LoRA steps per training check")
    parser.add_argument("--skip-bench", action="store_true", help="leave out bench/generation.py")
    parser.add_argument("--skip-train", action="store_true", help="leave out the training checks")
    args = parser.parse_args()

    import django

    django.setup()
    work = Path(tempfile.mkdtemp(prefix="device-check-"))
    started = time.perf_counter()
    report: dict = {"bench": "device_check", "device_asked": args.device}
    model_dir = with_weights(Path(args.model), work)
    report["random_weights"] = model_dir != Path(args.model)
    if args.device == "cuda":
        report["cuda_untouched_before_first_request"] = cuda_untouched(model_dir, args.device)
        import torch

        report["gpu"] = torch.cuda.get_device_name(0)
    for dtype in ("float32", "bfloat16"):
        log(f"engine vs generate, {dtype}")
        report[f"engine_matches_generate_{dtype}"] = batched_vs_generate(model_dir, args.device, dtype)
    report["prefill_then_turn"] = prefill_then_turn(model_dir, args.device)
    if not args.skip_train:
        log("training")
        report["train"] = train(model_dir, work, args.device, args.steps)
    if not args.skip_bench:
        log("bench/generation.py")
        run = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "generation.py"), "--model", str(model_dir), "--reps", "1"],
            capture_output=True, text=True, timeout=400,
        )  # fmt: skip
        lines = run.stdout.strip().splitlines()
        report["generation"] = json.loads(lines[-1]) if run.returncode == 0 and lines else {"error": run.stderr[-2000:]}
    required = [report["engine_matches_generate_float32"]["all_match"], report["prefill_then_turn"]["ok"]]
    required += [v["finite"] for k, v in report.get("train", {}).items() if k != "serves_adapter"]
    if "cuda_untouched_before_first_request" in report:
        required.append(report["cuda_untouched_before_first_request"]["ok"])
    report["ok"] = all(required)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

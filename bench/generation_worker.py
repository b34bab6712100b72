"""Serving the tutor model through a real ``gpu``-queue Celery worker: one session alone, then N at once.

    .venv/bin/python bench/generation_worker.py [--sessions 8] [--threads N] [--tokens 48]
        [--database-url postgres://postgres@127.0.0.1:5432/tg_gen_bench] [--redis-url redis://127.0.0.1:6379/11]

``bench/generation.py`` measures the engine in one process; this one measures
the deployed path: students' messages stored by ``student_message_post``, the
turn enqueued on commit to ``generate_turn`` on the ``gpu`` queue, a
``celery worker -Q gpu --pool threads --concurrency N`` wording every turn
with the served backend (one engine per process, continuous batching), and
the words coming back as ``LiveDeltas`` frames on the Redis channel layer,
where this bench listens as the sessions' sockets would.

Needs PostgreSQL and Redis. One command: it drops and re-creates its own
database (dropped again at the end) and flushes its Redis database, imports
the demo curricula, creates ``--sessions`` + 1 students with a session each
on the first fractions problem, and times, against plain ``model.generate``
on the same model in the same run:

- ``single``: session 0's second turn alone (its first turn cached the
  stable prefix): TTFT (message stored -> first frame) and decode tok/s
  (reply tokens over first -> last frame);
- ``concurrent``: sessions 1..N each have a first turn (one at a time), then
  all N send their second turn at once: aggregate decode tok/s (all reply
  tokens over the first frame -> the last frame of any), and its ratio to
  ``single`` (target >= 3).

Reply tokens are counted by re-tokenizing each stored reply (the guard may
have rewritten it: ``fallbacks`` counts replies not worded by the model).
Frames are 50 ms coalesced (``TUTOR_DELTA_FRAME_MS``), so the times are
accurate to about that. Progress goes to stderr; the last line of stdout is
one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=8)
    p.add_argument(
        "--threads",
        type=int,
        default=max(1, (os.cpu_count() or 1) - 1),
        help="torch threads of the worker's engine and the baseline (default: the engine's, every core but one)",
    )
    p.add_argument("--tokens", type=int, default=48, help="TUTOR_SERVED_MAX_NEW_TOKENS")
    p.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16"), help="TUTOR_SERVED_DTYPE")
    p.add_argument(
        "--adapter",
        default=str(ROOT / "models" / "registry" / "tutor-smollm2-lora-v1" / "adapter"),
        help="LoRA adapter merged into SmolLM2 (default: the shipped one, what make run serves; '' for the base)",
    )
    p.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tg_gen_bench")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    return p.parse_args()


def environment(args: argparse.Namespace) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "tutor.settings",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "TURN_EXECUTOR": "celery",
        "TUTOR_BACKEND": "served",
        "TUTOR_SERVED_MAX_NEW_TOKENS": str(args.tokens),
        "TUTOR_SERVED_TIMEOUT_S": "120",
        "TUTOR_SERVED_THREADS": str(args.threads),
        "TUTOR_SERVED_DTYPE": args.dtype,
        "TUTOR_WARM_UP": "0",
        "TUTOR_TEXT_SIMILARITY": "lexical",
        "INDEX_PASSAGES": "off",
        "COACHING_REFRESH_INLINE": "1",
    }


def recreate_database(url: str, create: bool = True) -> None:
    """Drop the bench's database, and create it afresh unless ``create`` is false (the clean-up)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def plain_baseline(tokenizer, base_dir: str, threads: int, tokens: int, adapter: str | None, dtype: str) -> dict:
    """``model.generate`` on the worker's model (SmolLM2 with the same adapter merged), same prompt shape."""
    import torch
    from transformers import AutoModelForCausalLM

    from bench.generation import plain, turn_prompts

    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    from models.llm.serving import keep_weights_foldable

    keep_weights_foldable(model.to(dtype=getattr(torch, dtype)).eval())  # as the worker's engine
    cold, _, _ = turn_prompts(tokenizer, 1)
    plain(model, cold, 4)  # kernels warm
    return plain(model, cold, tokens) | {"prompt_tokens": len(cold)}


def start_worker(env: dict[str, str], concurrency: int, logdir: Path) -> tuple[subprocess.Popen, str]:
    from tutor.celery import app

    name = f"gen-bench-{uuid.uuid4().hex[:8]}@localhost"
    out = open(logdir / "worker.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tutor", "worker", "-Q", "gpu", "-n", name, "--pool", "threads",
         "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while not app.control.ping(destination=[name], timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the gpu worker did not start; see {logdir / 'worker.log'}")
    return proc, name


class Listener:
    """One channel per session group, as the session's socket consumer would have."""

    def __init__(self, session_ids: list[int]) -> None:
        from channels.layers import get_channel_layer

        self.layer = get_channel_layer()
        self.session_ids = session_ids
        self.channels: dict[int, str] = {}

    async def join(self) -> None:
        for sid in self.session_ids:
            self.channels[sid] = await self.layer.new_channel()
            await self.layer.group_add(f"session.{sid}", self.channels[sid])

    async def turn(self, session, client_id: str, text: str) -> dict:
        """Post one student message; wait for its stored reply's event; return the frame times."""
        from channels.db import database_sync_to_async

        from tutor.dialogue.actions import student_message_post

        posted = await database_sync_to_async(student_message_post)(session=session, client_id=client_id, text=text)
        sent = time.monotonic()
        seq, frames = posted.message.seq, []
        while True:
            msg = await asyncio.wait_for(self.layer.receive(self.channels[session.pk]), timeout=180)
            event = msg.get("event", {})
            if event.get("reply_to") != seq:
                continue
            if msg["type"] == "session.delta":
                frames.append(time.monotonic())
            elif msg["type"] == "session.message":
                return {"sent": sent, "frames": frames, "done": time.monotonic(), "seq": seq, "session": session.pk}


def reply_of(result: dict) -> tuple[str, str | None]:
    from tutor.dialogue.models import Message

    reply = Message.objects.get(session_id=result["session"], reply_to__seq=result["seq"])
    return reply.text, reply.record.get("backend")


def tokens_of(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


async def measure(sessions: list, tokenizer) -> dict:
    from channels.db import database_sync_to_async

    listener = Listener([s.pk for s in sessions])
    await listener.join()
    for i, session in enumerate(sessions):  # first turns, one at a time: each caches its stable prefix
        started = time.monotonic()
        await listener.turn(session, f"first-{i}", "12")
        log(f"session {i}: first turn in {time.monotonic() - started:.1f}s")
    single = await listener.turn(sessions[0], "second-0", "is it 16?")  # what the N others say
    together = await asyncio.gather(
        *(listener.turn(s, f"second-{i}", "is it 16?") for i, s in enumerate(sessions[1:], start=1))
    )
    counted, fallbacks = [], 0
    for result in [single, *together]:
        text, backend = await database_sync_to_async(reply_of)(result)
        fallbacks += backend != "served"
        counted.append(tokens_of(tokenizer, text))
    single_tokens, many_tokens = counted[0], counted[1:]
    frames = single["frames"]
    single_rate = (single_tokens - 1) / max(frames[-1] - frames[0], 1e-9) if len(frames) > 1 else None
    first = min(r["frames"][0] for r in together if r["frames"])
    last = max(r["frames"][-1] for r in together if r["frames"])
    aggregate = sum(n - 1 for n in many_tokens) / max(last - first, 1e-9)
    return {
        "single": {
            "warm_ttft_ms": round((frames[0] - single["sent"]) * 1000, 1) if frames else None,
            "decode_tok_s": round(single_rate, 2) if single_rate else None,
            "reply_tokens": single_tokens,
            "frames": len(frames),
        },
        "concurrent": {
            "sessions": len(together),
            "aggregate_decode_tok_s": round(aggregate, 2),
            "vs_one_session": round(aggregate / single_rate, 2) if single_rate else None,
            "warm_ttft_ms_p50": round(
                sorted((r["frames"][0] - r["sent"]) * 1000 for r in together if r["frames"])[len(together) // 2], 1
            ),
            "reply_tokens": many_tokens,
        },
        "fallbacks": fallbacks,
    }


def main() -> int:
    args = parse_args()
    env = environment(args)
    os.environ.update(env)
    recreate_database(args.database_url)
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    redis.Redis.from_url(args.redis_url).flushdb()
    call_command("migrate", verbosity=0)
    from bench.load import demo_classes_only

    demo_classes_only()
    from transformers import AutoTokenizer

    from tutor.accounts.models import User
    from tutor.curricula.models import Problem
    from tutor.dialogue.actions import session_start

    problem = Problem.objects.filter(curriculum__slug="fractions").order_by("pk").first()
    sessions = []
    for i in range(args.sessions + 1):
        student = User.objects.create(username=f"gen-bench-{i}", role=User.Role.STUDENT)
        sessions.append(session_start(student=student, problem=problem))
    log(f"{len(sessions)} sessions on {problem.key}; plain generate baseline ({args.threads} threads)")
    from django.conf import settings

    from models.llm.base import resolve_base
    from models.llm.serving import resolve_dtype

    dtype = resolve_dtype(args.dtype, "cpu")

    env["TUTOR_SERVED_BASE_DIR"] = str(resolve_base(None, settings.DATA_DIR))
    if args.adapter:
        env["TUTOR_SERVED_ADAPTER_DIR"] = args.adapter
    tokenizer = AutoTokenizer.from_pretrained(env["TUTOR_SERVED_BASE_DIR"], local_files_only=True)
    adapter = args.adapter or None
    baseline = plain_baseline(tokenizer, env["TUTOR_SERVED_BASE_DIR"], args.threads, args.tokens, adapter, dtype)
    log(f"plain generate: {baseline}")
    logdir = Path(tempfile.mkdtemp(prefix="gen-worker-bench-"))
    worker, name = start_worker(env, args.sessions, logdir)
    log(f"worker {name} up (log {logdir / 'worker.log'})")
    try:
        result = asyncio.run(measure(sessions, tokenizer))
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        from django.db import connections

        connections.close_all()
        recreate_database(args.database_url, create=False)
    single = result["single"]
    out = {
        "bench": "generation_worker",
        "via": f"celery -Q gpu --pool threads --concurrency {args.sessions}, Redis channel layer, PostgreSQL",
        "torch_threads": args.threads,
        "adapter": args.adapter or None,
        "dtype": dtype,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "plain_generate": baseline,
        **result,
        "decode_vs_plain": round(single["decode_tok_s"] / baseline["decode_tok_s"], 3)
        if single["decode_tok_s"]
        else None,
        "targets": {
            "warm_ttft_under_300ms": single["warm_ttft_ms"] is not None and single["warm_ttft_ms"] < 300,
            "decode_at_least_0.9x_plain": bool(single["decode_tok_s"])
            and single["decode_tok_s"] >= 0.9 * baseline["decode_tok_s"],
            "aggregate_at_least_3x_one_session": (result["concurrent"]["vs_one_session"] or 0) >= 3,
        },
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A small serving engine for the tutor language model: one batching loop, many streaming callers.

Pure torch/transformers, no Django. ``Engine(config).stream(prompt_ids, ...)``
yields text deltas; any number of threads may call it at once (a Celery
worker with a threads pool runs several turns in one process), and one
background thread does all the model work:

- **Lazy.** Nothing is loaded (and no CUDA is touched) until the first
  request: a parent process that forks workers never initialises a device.
  A LoRA adapter is merged into the base weights (``merge_and_unload``), so
  serving pays nothing for it.
- **Dynamic, continuous batching.** Requests arrive on a queue. When the loop
  is idle it waits ``batch_window_ms`` for company, then prefills each new
  request and decodes every active sequence together, one token per step.
  Sequences are left-padded into one key/value cache with an attention mask
  and per-row position ids; a finished, cancelled or timed-out row leaves
  between steps, and a new one joins between steps.
- **Prefix cache.** The key/value state of recent prompts is kept in an LRU
  (one entry per ``cache_key``, e.g. a tutoring session). A new prompt reuses
  the longest common token prefix of any entry (the system message with the
  problem, its key and passages is stable across a session's turns, and is
  shared by every session on the same problem), so a turn prefills only its
  new tokens. ``prefill`` fills an entry ahead of its request (the next
  turn's prompt up to the student's words, while the student types).
- **Streaming with a deadline.** Each request has its own queue of text
  deltas, decoded incrementally (a multi-byte character split across tokens
  is held back until complete). ``stop`` may cut the text (the served backend
  stops at the JSON string's closing quote). Past its deadline a request is
  dropped from the batch and the caller gets ``EngineTimeout``.

See ``docs/serving.md`` for the measurements behind the defaults.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EngineConfig:
    """How to load and run the model. ``dtype`` "auto": see ``auto_dtype``."""

    base_dir: str
    adapter_dir: str | None = None
    dtype: str = "auto"  # auto, float32, bfloat16, float16
    device: str = "auto"  # auto (cuda when available), cpu, cuda
    num_threads: int | None = None  # torch CPU threads; None: every core but one
    max_batch: int = 8
    batch_window_ms: float = 10.0
    prefix_cache_entries: int = 32
    min_prefix_tokens: int = 16  # shorter common prefixes are not worth a cache copy


def auto_dtype(device: str) -> str:
    """bfloat16 on a GPU and on a CPU with native bf16 arithmetic (AVX-512 BF16 or AMX), else float32.

    Measured with ``bench/generation.py`` on two of our 2-core machines: on a
    Xeon with AMX, bfloat16 prefilled a 423-token prompt 2.9x faster than
    float32 and decoded as fast; on an AMD EPYC with only AVX2, bfloat16 is
    emulated and prefilled 5x slower.

    >>> auto_dtype("cuda")
    'bfloat16'
    """
    if device != "cpu" and not device.startswith("cpu:"):
        return "bfloat16"
    import torch

    def has(probe: str) -> bool:
        check = getattr(torch.cpu, probe, None)  # private probes: absent in some torch builds
        return bool(check and check())

    return "bfloat16" if has("_is_avx512_bf16_supported") or has("_is_amx_tile_supported") else "float32"


def resolve_dtype(dtype: str, device: str) -> str:
    """``dtype`` as asked, with "auto" decided by ``auto_dtype`` for ``device``.

    >>> resolve_dtype("float32", "cuda"), resolve_dtype("auto", "cuda")
    ('float32', 'bfloat16')
    """
    return auto_dtype(device) if dtype == "auto" else dtype


def keep_weights_foldable(model: Any) -> Any:
    """Mark every weight as requiring grad again (a merged or frozen LoRA model has them off); returns ``model``.

    Nothing is recorded under ``torch.inference_mode``, but the flag steers
    ``torch.matmul``: for the language-model head on a prefill's last position
    (a 3-D, non-contiguous input) and a weight that does not require grad, it
    takes a batched path that copies the whole 49,152 x 576 weight first. In
    bfloat16 on our CPU that made a 53-token prefill 88 -> 253 ms (float32
    and single-token decode steps were unaffected).
    """
    model.requires_grad_(True)
    return model


class EngineError(RuntimeError):
    """The engine could not serve a request (load failure, generation error)."""


class EngineTimeout(EngineError):
    """A request passed its deadline; whatever it had streamed stands, the rest is dropped."""


@dataclass
class Request:
    """One generation: prompt token ids in, text deltas out through ``out``."""

    ids: list[int]
    max_new_tokens: int
    deadline: float
    stop: Callable[[str], int | None] | None = None
    cache_key: str | None = None
    min_new_tokens: int = 0  # end-of-sequence is not allowed before (as in generate; for the bench)
    out: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    finished_at: float | None = None
    new_tokens: int = 0
    reused_tokens: int = 0  # prompt tokens taken from the prefix cache


_END = object()


@dataclass
class _Row:
    request: Request
    length: int  # real tokens in the cache for this row
    next_token: int
    generated: list[int] = field(default_factory=list)
    sent: str = ""


class Engine:
    """Loads the model on first use and runs the batching loop on a daemon thread."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self._incoming: queue.SimpleQueue[Request] = queue.SimpleQueue()
        self._load_lock = threading.Lock()
        self._prefixes: OrderedDict[str, tuple[tuple[int, ...], list[tuple[Any, Any]]]] = OrderedDict()
        self._rows: list[_Row] = []
        self._cache: Any = None  # batched DynamicCache of self._rows, left-padded
        self._mask: Any = None  # (rows, cache length) attention mask
        self._thread: threading.Thread | None = None
        self.model: Any = None
        self.tokenizer: Any = None
        self.last_used = time.monotonic()  # by shared_engine
        self.steps = 0  # decode steps run, rows decoded in them, and their time (for the bench)
        self.row_steps = 0
        self.step_seconds = 0.0

    # --- loading ----------------------------------------------------------------------------------------------
    def load(self) -> None:
        """Load tokenizer and model once (thread-safe) and start the loop thread."""
        if self._thread is not None:
            return
        with self._load_lock:
            if self._thread is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                self.model, self.tokenizer = self._load_model()
            except Exception as error:
                raise EngineError(f"could not load {self.config.base_dir}: {type(error).__name__}: {error}") from error
            self._thread = threading.Thread(target=self._loop, name="serving-engine", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def close(self) -> None:
        """Stop the loop thread and let the model go; a later request loads it again.

        Also called at exit: a daemon thread inside torch at interpreter
        shutdown aborts the process.
        """
        with self._load_lock:
            if self._thread is not None and self._thread.is_alive():
                self._incoming.put(None)
                self._thread.join(timeout=5)
            self._thread = None
            self.model = self.tokenizer = None
            self._prefixes.clear()
            self._rows, self._cache, self._mask = [], None, None
            atexit.unregister(self.close)

    def _load_model(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        cfg = self.config
        device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        dtype_name = resolve_dtype(cfg.dtype, device)
        if device == "cpu":
            # One core stays free for the worker's other threads (the pipeline, the database, the
            # channel layer): on a busy 2-core machine two spinning torch threads ran 5x slower than one.
            torch.set_num_threads(cfg.num_threads or max(1, (os.cpu_count() or 1) - 1))
        tokenizer = AutoTokenizer.from_pretrained(cfg.base_dir, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(cfg.base_dir, local_files_only=True, dtype=torch.float32)
        if cfg.adapter_dir:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, cfg.adapter_dir).merge_and_unload()
        model = keep_weights_foldable(model.to(device=device, dtype=getattr(torch, dtype_name)).eval())
        self.device, self.dtype = device, dtype_name
        eos = model.generation_config.eos_token_id
        self.eos = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id} - {None}
        return model, tokenizer

    # --- the caller's side ------------------------------------------------------------------------------------
    def submit(
        self,
        ids: list[int],
        *,
        max_new_tokens: int,
        timeout_s: float,
        stop: Callable[[str], int | None] | None = None,
        cache_key: str | None = None,
        min_new_tokens: int = 0,
    ) -> Request:
        """Queue a request; read its deltas with ``deltas(request)``."""
        self.load()
        if not ids:
            raise EngineError("empty prompt")
        request = Request(list(ids), max_new_tokens, time.monotonic() + timeout_s, stop, cache_key, min_new_tokens)
        self._incoming.put(request)
        return request

    def prefill(self, ids: list[int], *, cache_key: str, timeout_s: float = 30.0) -> Request:
        """Compute and cache the key/value state of ``ids`` under ``cache_key``, generating nothing.

        For a prompt prefix known ahead of its request: the next turn's prompt
        up to the student's words is known as soon as a turn ends, so it is
        prefilled while the student reads and types, and the turn itself then
        prefills only the student's words and the forced JSON prefix. Requests
        are served in order, so a session's next turn always finds it; its
        request need not be read.
        """
        return self.submit(ids, max_new_tokens=0, timeout_s=timeout_s, cache_key=cache_key)

    def deltas(self, request: Request) -> Iterator[str]:
        """The request's text as it is generated; ``EngineTimeout`` past its deadline.

        Closing the generator early (the caller stopped reading) cancels the
        request, so its row leaves the batch at the next step.
        """
        try:
            while True:
                remaining = request.deadline - time.monotonic()
                try:
                    item = request.out.get(timeout=max(remaining, 0.0)) if remaining > 0 else request.out.get_nowait()
                except queue.Empty:
                    raise EngineTimeout(f"timed out after {request.new_tokens} tokens") from None
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise EngineError(f"generation failed: {type(item).__name__}: {item}") from item
                yield item
        finally:
            request.cancelled.set()

    def stream(self, ids: list[int], **kwargs: Any) -> Iterator[str]:
        """``submit`` then ``deltas``: the simple way to generate."""
        return self.deltas(self.submit(ids, **kwargs))

    # --- the loop ---------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        import torch

        window = self.config.batch_window_ms / 1000
        pending: list[Request] = []
        while True:
            if not self._rows and not pending:
                pending.append(self._incoming.get())  # idle: block until work arrives
                if pending[-1] is None:
                    return
                until = time.monotonic() + window
                while (left := until - time.monotonic()) > 0 and len(pending) < self.config.max_batch:
                    try:
                        pending.append(self._incoming.get(timeout=left))
                    except queue.Empty:
                        break
            while True:  # never wait while rows are decoding, but let newcomers in
                try:
                    pending.append(self._incoming.get_nowait())
                except queue.Empty:
                    break
            if None in pending:  # close()
                return
            try:
                with torch.inference_mode():
                    while pending and len(self._rows) < self.config.max_batch:
                        request = pending.pop(0)
                        if not request.cancelled.is_set() and time.monotonic() < request.deadline:
                            self._admit(request)
                    if self._rows:
                        self._step()
            except Exception as error:  # fail every row in flight; the loop itself lives on
                for row in self._rows:
                    row.request.out.put(error)
                self._rows, self._cache, self._mask = [], None, None

    def _admit(self, request: Request) -> None:
        """Prefill one request (reusing a cached prefix), emit its first token, add its row."""
        import torch
        from transformers import DynamicCache

        ids = request.ids
        reuse, layers = self._longest_prefix(ids)
        cache = DynamicCache()
        for i, (k, v) in enumerate(layers):
            cache.update(k[:, :, :reuse], v[:, :, :reuse], i)
        device = self.device
        new = torch.tensor([ids[reuse:]], device=device)
        out = self.model(
            input_ids=new,
            attention_mask=torch.ones((1, len(ids)), dtype=torch.long, device=device),
            position_ids=torch.arange(reuse, len(ids), device=device).unsqueeze(0),
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        request.reused_tokens = reuse
        kv = [(layer.keys, layer.values) for layer in cache.layers]
        if request.cache_key is not None:  # keyless requests must not evict the sessions' entries
            self._remember(request.cache_key, tuple(ids), kv)
        if request.max_new_tokens <= 0:  # a prefill: the cache entry was the point
            request.finished_at = time.monotonic()
            request.out.put(_END)
            return
        row = _Row(request, len(ids), int(self._pick(out.logits[:, -1], [request])[0]))
        if self._emit(row):
            self._join(row, kv)

    def _longest_prefix(self, ids: list[int]) -> tuple[int, list]:
        best, layers = 0, []
        for key, (cached, kv) in self._prefixes.items():
            n = min(len(cached), len(ids) - 1)  # at least one token left to prefill
            same = 0
            while same < n and cached[same] == ids[same]:
                same += 1
            if same > best:
                best, layers, hit = same, kv, key
        if best < self.config.min_prefix_tokens:
            return 0, []
        self._prefixes.move_to_end(hit)
        return best, layers

    def _remember(self, key: str, ids: tuple[int, ...], kv: list) -> None:
        if self.config.prefix_cache_entries <= 0:
            return
        self._prefixes[key] = (ids, kv)
        self._prefixes.move_to_end(key)
        while len(self._prefixes) > self.config.prefix_cache_entries:
            self._prefixes.popitem(last=False)

    def _join(self, row: _Row, kv: list) -> None:
        """Add a prefilled row to the batch: left-pad the shorter side so all rows end together."""
        import torch
        from transformers import DynamicCache

        if not self._rows:
            pairs, mask = kv, torch.ones((1, row.length), dtype=torch.long, device=self.device)
        else:
            have = self._mask.shape[1]
            width = max(have, row.length)

            def pad(t: Any, n: int) -> Any:
                return torch.nn.functional.pad(t, (0, 0, n, 0)) if n else t

            old = [(layer.keys, layer.values) for layer in self._cache.layers]
            pairs = [
                (torch.cat([pad(ok, width - have), pad(k, width - row.length)]),
                 torch.cat([pad(ov, width - have), pad(v, width - row.length)]))
                for (ok, ov), (k, v) in zip(old, kv, strict=True)
            ]  # fmt: skip
            mask = torch.cat(
                [
                    torch.nn.functional.pad(self._mask, (width - have, 0)),
                    torch.nn.functional.pad(
                        torch.ones((1, row.length), dtype=torch.long, device=self.device), (width - row.length, 0)
                    ),
                ]
            )
        cache = DynamicCache()
        cache.layer_class_to_replicate = _growing_layer()
        for i, (k, v) in enumerate(pairs):
            cache.update(k, v, i)
        self._cache, self._mask = cache, mask
        self._rows.append(row)

    def _step(self) -> None:
        """Feed every row its last token, pick the next ones greedily, drop the rows that are done."""
        started = time.perf_counter()
        try:
            self._decode_step()
        finally:
            self.step_seconds += time.perf_counter() - started

    def _decode_step(self) -> None:
        import torch

        rows = self._rows
        tokens = torch.tensor([[r.next_token] for r in rows], device=self.device)
        positions = torch.tensor([[r.length] for r in rows], device=self.device)
        mask = torch.cat([self._mask, torch.ones((len(rows), 1), dtype=torch.long, device=self.device)], dim=1)
        out = self.model(
            input_ids=tokens, attention_mask=mask, position_ids=positions, cache=self._cache, use_cache=True,
            logits_to_keep=1,
        )  # fmt: skip
        self._mask = mask
        self.steps += 1
        self.row_steps += len(rows)
        picks = self._pick(out.logits[:, -1], [r.request for r in rows])
        keep = []
        for i, (row, token) in enumerate(zip(rows, picks, strict=True)):
            row.length += 1
            row.next_token = token
            if self._emit(row):
                keep.append(i)
        if len(keep) < len(rows):
            self._rows = [rows[i] for i in keep]
            if not keep:
                self._cache, self._mask = None, None
                return
            index = torch.tensor(keep, device=self.device)
            self._cache.batch_select_indices(index)
            self._mask = self._mask[index]
            lead = int((self._mask.sum(dim=0) == 0).long().cumprod(dim=0).sum())  # columns that are padding for all
            if lead:
                self._mask = self._mask[:, lead:]
                for layer in self._cache.layers:
                    layer.keys, layer.values = layer.keys[:, :, lead:], layer.values[:, :, lead:]

    def _pick(self, logits: Any, requests: list[Request]) -> list[int]:
        """Greedy choice per row; end-of-sequence is masked for rows still under ``min_new_tokens``."""
        early = [i for i, r in enumerate(requests) if r.new_tokens < r.min_new_tokens]
        if early:
            logits = logits.clone()
            for i in early:
                logits[i, list(self.eos)] = float("-inf")
        return logits.argmax(dim=-1).tolist()

    def _emit(self, row: _Row) -> bool:
        """Hand the row's newest token to its caller as text; False when the row is finished."""
        request = row.request
        if request.cancelled.is_set() or time.monotonic() >= request.deadline:
            return False  # the caller has gone, or will raise EngineTimeout
        token = row.next_token
        if request.first_token_at is None:
            request.first_token_at = time.monotonic()
        done = token in self.eos
        if not done:
            row.generated.append(token)
            request.new_tokens += 1
        text = self.tokenizer.decode(row.generated, skip_special_tokens=True)
        cut = request.stop(text) if request.stop is not None else None
        if cut is not None:
            text, done = text[:cut], True
        elif text.endswith("\ufffd") and not done:
            text = row.sent  # half a character: wait for the rest
        if len(text) > len(row.sent) and text.startswith(row.sent):
            request.out.put(text[len(row.sent) :])
            row.sent = text
        if done or request.new_tokens >= request.max_new_tokens:
            request.finished_at = time.monotonic()
            request.out.put(_END)
            return False
        return True


def _growing_layer() -> type:
    """A cache layer that appends into a preallocated buffer instead of ``torch.cat`` on every step.

    transformers' ``DynamicLayer`` copies the whole batch's keys and values
    each decode step (8 rows x 480 tokens x 30 layers is ~180 MB per token in
    float32); this one writes the new column in place and hands out a view,
    growing the buffer by half when it is full. Anything that replaces
    ``keys``/``values`` (row selection, trimming) is noticed and re-seeds it.
    """
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            if self.keys is not getattr(self, "_view", None):  # first use, or replaced from outside
                self._k, self._v, self._n = self.keys, self.values, self.keys.shape[-2] if self.keys.dim() == 4 else 0
            need = self._n + key_states.shape[-2]
            if self._k.dim() != 4 or self._k.shape[-2] < need:
                size = list(key_states.shape)
                size[-2] = need + need // 2 + 16
                k, v = key_states.new_empty(size), value_states.new_empty(size)
                if self._n:
                    k[:, :, : self._n], v[:, :, : self._n] = self._k[:, :, : self._n], self._v[:, :, : self._n]
                self._k, self._v = k, v
            self._k[:, :, self._n : need] = key_states
            self._v[:, :, self._n : need] = value_states
            self._n = need
            self.keys, self.values = self._k[:, :, :need], self._v[:, :, :need]
            self._view = self.keys
            return self.keys, self.values

    return GrowingLayer


_shared: dict[EngineConfig, Engine] = {}
_shared_lock = threading.Lock()
IDLE_ENGINE_S = 15 * 60  # an engine nobody asked for this long is let go when another is made


def shared_engine(config: EngineConfig) -> Engine:
    """One engine per configuration per process, so concurrent turns share one batch.

    A promoted model gets a new engine (a new configuration), and sessions
    begun before keep asking for the old one for a while. When a new engine is
    made, engines idle for ``IDLE_ENGINE_S`` are closed and dropped, so a
    worker does not keep every model it ever served in memory; one asked for
    again simply loads again.
    """
    with _shared_lock:
        engine = _shared.get(config)
        if engine is None:
            now = time.monotonic()
            for old, idle in list(_shared.items()):
                if now - idle.last_used > IDLE_ENGINE_S:
                    idle.close()
                    del _shared[old]
            engine = _shared[config] = Engine(config)
        engine.last_used = time.monotonic()
        return engine

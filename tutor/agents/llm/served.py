"""The tutor language model, served by the batching engine (``models/llm/serving.py``).

Decisions stay with the policy; the model only words them. For a turn it gets
the turn-model prompt (``models.llm.turnformat.build_messages``: the system
message holds the step's answer key, hints and counters) and the decided
labels are forced as the start of its answer::

    {"evaluation":"b","action":3,"subproblem_state":"y","subproblem":"...","utterance":"

so it writes only the utterance, and generation stops at the string's
closing quote. The JSON escapes are undone as the text streams. The pipeline
runs the leak guard on every piece before anything reaches the student.

The same class is the ``served`` backend (turns run on the ``gpu`` Celery
queue) and the ``turnmodel`` backend (the same engine inside the web
process, for the embedded mode); only the name differs. Every failure
(load, generation, deadline, empty reply) is a ``BackendError``, and the
pipeline falls back to the scripted verbaliser.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tutor.agents.backends import BackendError, VerbalRequest


@dataclass(frozen=True)
class ServedConfig:
    """The model's directories and how long a reply may take (``timeout_s``: queueing + prefill + decode)."""

    base_dir: str
    adapter_dir: str | None = None
    name: str = "served"
    max_new_tokens: int = 96
    timeout_s: float = 20.0
    dtype: str = "auto"
    num_threads: int | None = None
    max_batch: int = 8
    batch_window_ms: float = 10.0
    prefix_cache_entries: int = 32


def forced_prefix(decided: dict) -> str:
    """The start of the JSON record, with the policy's labels, up to the utterance's opening quote.

    >>> forced_prefix({"evaluation": "b", "action": 3, "subproblem_state": "y", "subproblem": "What is 2+2?"})
    '{"evaluation":"b","action":3,"subproblem_state":"y","subproblem":"What is 2+2?","utterance":"'
    """
    head = {k: decided[k] for k in ("evaluation", "action", "subproblem_state", "subproblem")}
    return json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"utterance":"'


def string_end(raw: str) -> int | None:
    """Where an unescaped double quote ends the JSON string ``raw`` is inside, or None.

    >>> string_end('Well done\\\\" and')
    >>> string_end('Say \\\\"hi\\\\" now" }')
    14
    """
    escaped = False
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            return i
    return None


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def unescape(raw: str) -> tuple[str, int]:
    """Decode JSON string escapes; returns the text and how much of ``raw`` it used.

    A trailing, incomplete escape is left for the next piece. An unknown
    escape keeps its character (a model's slip should not cost the reply).

    >>> unescape('Try \\\\"half\\\\"\\\\nnow \\\\u00e9 \\\\')
    ('Try "half"\\nnow é ', 25)
    """
    out, i = [], 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(raw):
            break
        code = raw[i + 1]
        if code == "u":
            digits = raw[i + 2 : i + 6]
            if len(digits) < 4:
                break
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                out.append(digits)
            i += 6
            continue
        out.append(_ESCAPES.get(code, code))
        i += 2
    return "".join(out), i


STUDENT_WORDS_MARK = "STUDENT-WORDS-GO-HERE"  # where the prompt of a turn not yet asked is cut


class ServedVerbaliser:
    """Words a turn with the served model. ``on_tokens`` is told how many tokens each reply cost."""

    def __init__(self, config: ServedConfig, on_tokens: Callable[[int], None] | None = None) -> None:
        self.config = config
        self.name = config.name
        self.on_tokens = on_tokens
        self.cache_key: str | None = None  # the prefix-cache entry this verbaliser's turns refresh (a session)

    @property
    def engine(self) -> Any:
        from models.llm.serving import EngineConfig, shared_engine

        c = self.config
        return shared_engine(
            EngineConfig(
                base_dir=c.base_dir, adapter_dir=c.adapter_dir, dtype=c.dtype, num_threads=c.num_threads,
                max_batch=c.max_batch, batch_window_ms=c.batch_window_ms, prefix_cache_entries=c.prefix_cache_entries,
            )
        )  # fmt: skip

    def _fail(self, cause: str) -> BackendError:
        return BackendError(f"{self.name} model at {self.config.base_dir}: {cause}")

    def stream_turn(self, ctx: Any, decided: dict, cache_key: str | None = None) -> Iterator[str]:
        """The utterance for a turn whose labels the policy ``decided``, as it is generated."""
        from models.llm.turnformat import build_messages

        key = cache_key or self.cache_key
        yield from self._run(build_messages(ctx), forced_prefix(decided), json_string=True, cache_key=key)

    def prefill_turn(self, ctx: Any, cache_key: str | None = None) -> None:
        """Prefill the turn ``ctx`` describes up to the student's words, which are not known yet.

        ``ctx.text`` is ignored. Called when a turn ends, with the next turn's
        position and history: when the student answers, only their words and
        the forced JSON prefix are left to prefill. Best effort: it only
        queues work for the engine, and the turn works the same without it.
        """
        from dataclasses import replace

        from models.llm.turnformat import build_messages

        key = cache_key or self.cache_key
        if key is None:
            return
        engine = self.engine
        engine.load()
        messages = build_messages(replace(ctx, kind="answer", text=STUDENT_WORDS_MARK))
        text = engine.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        head = text[: text.rindex(STUDENT_WORDS_MARK)]
        engine.prefill(engine.tokenizer(head, add_special_tokens=False)["input_ids"], cache_key=key)

    def stream(self, request: VerbalRequest) -> Iterator[str]:
        """The plain verbaliser path (no answer key): the generic prompt of ``prompting.build_messages``."""
        from tutor.agents.llm.prompting import build_messages

        yield from self._run(build_messages(request), "", json_string=False, cache_key=None)

    def _run(self, messages: list[dict], prefix: str, *, json_string: bool, cache_key: str | None) -> Iterator[str]:
        from models.llm.serving import EngineError, EngineTimeout

        engine = self.engine
        try:
            engine.load()
            text = engine.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            ids = engine.tokenizer(text + prefix, add_special_tokens=False)["input_ids"]
            request = engine.submit(
                ids,
                max_new_tokens=self.config.max_new_tokens,
                timeout_s=self.config.timeout_s,
                stop=string_end if json_string else None,
                cache_key=cache_key,
            )
        except EngineError as error:
            raise self._fail(str(error)) from error
        except Exception as error:  # the template's or the tokenizer's own checks
            raise self._fail(f"could not build the prompt: {type(error).__name__}: {error}") from error
        raw, used, spoke = "", 0, False
        try:
            for piece in engine.deltas(request):
                if not json_string:
                    spoke = spoke or bool(piece.strip())
                    yield piece
                    continue
                raw += piece
                text, n = unescape(raw[used:])
                used += n
                if text:
                    spoke = spoke or bool(text.strip())
                    yield text
        except EngineTimeout as error:
            raise self._fail(f"timed out after {self.config.timeout_s:g}s ({error})") from error
        except EngineError as error:
            raise self._fail(str(error)) from error
        finally:
            if self.on_tokens is not None and request.new_tokens:
                self.on_tokens(request.new_tokens)
        if not spoke:
            raise self._fail("the model produced no text")

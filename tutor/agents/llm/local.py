"""A verbaliser backed by a transformers causal language model in a local directory.

The model is read from disk only (``local_files_only``, hub offline): the
servers this runs on have no model hub, and a tutor must not fetch weights
behind a teacher's back. It loads on first use rather than at import, so
choosing the scripted backend costs nothing, and it loads once even when
several consumers ask at the same time.

Generation runs on a background thread that feeds a
``transformers.TextIteratorStreamer``; ``stream()`` yields the decoded pieces
as they arrive, so the first words reach the student before the reply is
finished. Every failure (load, template, generation, deadline, empty reply)
becomes a ``BackendError``, and the pipeline falls back to the scripted
verbaliser.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tutor.agents.backends import BackendError, VerbalRequest
from tutor.agents.llm.prompting import build_messages, merge_system


@dataclass(frozen=True)
class LocalConfig:
    """How to run the local model.

    ``temperature`` 0 means greedy decoding: the same request gives the same
    words, which keeps tests and replays reproducible. ``timeout_s`` bounds one
    reply (waiting for the model, templating and generating), not the one-off
    load. ``num_threads`` sets torch's CPU threads, which is process-wide.
    """

    model_dir: str
    max_new_tokens: int = 96
    temperature: float = 0.0
    timeout_s: float = 20.0
    num_threads: int | None = None


class _Cancelled:
    """A stopping criterion that ends generation once the consumer has gone (timeout, closed stream)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class LocalVerbaliser:
    """Words a tutor turn with a local causal LM, streaming the reply."""

    name = "local"

    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        self._load_lock = threading.Lock()
        # One generation at a time: on a CPU, parallel generations only fight
        # over the same cores, and each would then miss its deadline.
        self._generate_lock = threading.Lock()
        self._tokenizer: Any = None
        self._model: Any = None
        self._load_error: BaseException | None = None

    def _fail(self, cause: str) -> BackendError:
        return BackendError(f"local model at {self.config.model_dir}: {cause}")

    def load(self) -> None:
        """Load the tokenizer and model once; later calls return at once.

        A failed load is remembered and raised again, so a broken model
        directory does not cost a slow retry on every student message.
        """
        if self._model is not None:
            return
        with self._load_lock:
            if self._model is not None:
                return
            if self._load_error is not None:
                raise self._fail(f"could not load: {self._load_error}") from self._load_error
            if not os.path.isdir(self.config.model_dir):  # cheap to check again, so not remembered
                raise self._fail("could not load: the directory does not exist")
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer

                if self.config.num_threads:
                    torch.set_num_threads(self.config.num_threads)
                tokenizer = AutoTokenizer.from_pretrained(self.config.model_dir, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(self.config.model_dir, local_files_only=True)
                model.eval()
            except Exception as error:
                self._load_error = error
                raise self._fail(f"could not load: {type(error).__name__}: {error}") from error
            self._tokenizer = tokenizer
            self._model = model

    def _inputs(self, request: VerbalRequest) -> Any:
        """Token ids for the chat, through the model's own chat template.

        Control tokens typed by the student are encoded as plain text where the
        tokenizer supports it; a template without a system role gets the
        system text folded into the first user message.
        """
        messages = build_messages(request)
        merged = merge_system(messages)
        attempts = [(messages, True), (messages, False), (merged, True), (merged, False)]
        last_error: Exception | None = None
        for chat, sanitize in attempts:
            kwargs = {"sanitize_control_tokens": True} if sanitize else {}
            try:
                return self._tokenizer.apply_chat_template(
                    chat, add_generation_prompt=True, return_tensors="pt", return_dict=True, **kwargs
                )
            except Exception as error:  # the template's or the tokenizer's own checks
                last_error = error
        raise self._fail(f"could not apply the chat template: {type(last_error).__name__}: {last_error}")

    def stream(self, request: VerbalRequest) -> Iterator[str]:
        """Yield the reply as the model writes it; raise ``BackendError`` on any failure.

        Nothing happens until the first piece is asked for: that is when the
        model loads (the first time) and the deadline starts.
        """
        self.load()
        deadline = time.monotonic() + self.config.timeout_s
        if not self._generate_lock.acquire(timeout=max(0.0, self.config.timeout_s)):
            raise self._fail(f"timed out after {self.config.timeout_s:g}s waiting for another reply to finish")
        cancel = threading.Event()
        errors: list[BaseException] = []
        try:
            from transformers import StoppingCriteriaList, TextIteratorStreamer

            inputs = self._inputs(request)
            streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
            generation = self._generation_kwargs(inputs, streamer, StoppingCriteriaList([_Cancelled(cancel)]))

            def run() -> None:
                try:
                    self._model.generate(**generation)
                except BaseException as error:  # reported to the consumer by _pieces
                    errors.append(error)
                    streamer.on_finalized_text("", stream_end=True)
                finally:
                    self._generate_lock.release()

            thread = threading.Thread(target=run, name="local-verbaliser", daemon=True)
            thread.start()
        except BaseException:
            self._generate_lock.release()  # the thread never started, so it cannot release it
            raise
        try:
            yield from self._pieces(streamer, deadline, errors)
        finally:
            # Stop a generation nobody reads any more, and let it finish, so it
            # does not hold the model (or outlive the process's interpreter).
            cancel.set()
            thread.join(timeout=1.0)

    def _generation_kwargs(self, inputs: Any, streamer: Any, stopping: Any) -> dict:
        tokenizer = self._tokenizer
        kwargs = dict(inputs)
        kwargs.update(streamer=streamer, stopping_criteria=stopping, max_new_tokens=self.config.max_new_tokens)
        if self.config.temperature > 0:
            kwargs.update(do_sample=True, temperature=self.config.temperature)
        else:
            kwargs.update(do_sample=False)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if pad is not None:
            kwargs["pad_token_id"] = pad
        return kwargs

    def _pieces(self, streamer: Any, deadline: float, errors: list[BaseException]) -> Iterator[str]:
        """Read the streamer until it ends or the deadline passes.

        Leading whitespace is held back until real text arrives, so a reply of
        only blanks is an error rather than a silent empty message.
        """
        held = ""
        spoke = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._fail(f"timed out after {self.config.timeout_s:g}s")
            streamer.timeout = remaining  # the streamer's wait for the next piece
            try:
                piece = next(streamer)
            except StopIteration:
                break
            except queue.Empty:
                raise self._fail(f"timed out after {self.config.timeout_s:g}s") from None
            if not piece:
                continue
            if not spoke and not piece.strip():
                held += piece
                continue
            spoke = True
            yield held + piece
            held = ""
        if errors:
            error = errors[0]
            raise self._fail(f"generation failed: {type(error).__name__}: {error}") from error
        if not spoke:
            raise self._fail("the model produced no text")

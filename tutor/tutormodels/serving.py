"""The Django side of serving the tutor language model (docs/serving.md).

``turn_verbaliser()`` is what ``turn_run`` asks for each turn. With
``TUTOR_BACKEND`` ``served`` (turns on the ``gpu`` Celery queue) or
``turnmodel`` (the same engine inside the web process) it returns a served
verbaliser for this student and session:

- the model is the session's live model (``tutor.tutormodels.live``: the one
  promoted when the session started), else the base SmolLM2 from
  ``resolve_base(None, DATA_DIR)``; ``TUTOR_BACKEND_OPTIONS["base_dir"]`` pins
  a directory instead;
- a student with no LLM tokens left today gets the scripted verbaliser under
  the name ``scripted-budget`` (the turn record's ``backend`` says why), and
  the tokens a reply generates are charged after it;
- a turn already tried ``TUTOR_SERVED_MAX_ATTEMPTS`` times (its workers died
  mid-generation) is worded by the scripted verbaliser (``scripted-retry``),
  so a reply that kills workers cannot loop forever.

The engine itself is loaded lazily by the first generation in the process
that runs it (``models.llm.serving.shared_engine``): importing this module
touches neither torch nor a GPU.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings

from tutor.agents.backends import Verbaliser
from tutor.agents.scripted import ScriptedVerbaliser

log = logging.getLogger(__name__)
SERVED_BACKENDS = ("served", "turnmodel")


class _NamedScripted(ScriptedVerbaliser):
    """The scripted words under another name, so the turn record tells why no model spoke."""

    def __init__(self, name: str) -> None:
        self.name = name


def model_dirs(session_id: int | None = None) -> tuple[str, Path, Path | None]:
    """(name, base model directory, adapter directory or None) of the model to serve ``session_id``.

    A session keeps the model it started with (``live.py``), so a promotion
    does not change a tutor's voice mid-problem.
    """
    try:
        from tutor.tutormodels.live import live_model_dirs
    except ImportError:  # the registry's promotion page is not installed
        live = None
    else:
        live = live_model_dirs(session_id)
    if live is not None:
        return live
    from models.llm.base import SMOLLM2_NAME, resolve_base

    return SMOLLM2_NAME, resolve_base(None, settings.DATA_DIR), None


def tokens_remaining(student_id: int) -> int | None:
    """The student's LLM tokens left today, or None when no budget is kept."""
    try:
        from tutor.security.ratelimit import llm_tokens_remaining
    except ImportError:
        return None
    return llm_tokens_remaining(student_id)


def tokens_charge(student_id: int, tokens: int) -> None:
    try:
        from tutor.security.ratelimit import llm_tokens_charge
    except ImportError:
        return
    try:
        llm_tokens_charge(student_id, tokens)
    except Exception:  # the reply is already said; a cache outage must not fail the turn
        log.exception("charging %s LLM tokens to user %s failed", tokens, student_id)


def turn_verbaliser(student_id: int, session_id: int, attempts: int = 1) -> Verbaliser:
    """The verbaliser for one turn of ``session_id`` (see the module docstring)."""
    from tutor.dialogue.tutoring import verbaliser

    name = settings.TUTOR_BACKEND
    if name not in SERVED_BACKENDS:
        return verbaliser()
    if attempts > settings.TUTOR_SERVED_MAX_ATTEMPTS:
        return _NamedScripted("scripted-retry")
    remaining = tokens_remaining(student_id)
    if remaining is not None and remaining <= 0:
        return _NamedScripted("scripted-budget")
    from tutor.agents.llm import make_backend

    options = dict(settings.TUTOR_BACKEND_OPTIONS)
    if not options.get("base_dir"):
        _, base, adapter = model_dirs(session_id)
        options["base_dir"], options["adapter_dir"] = str(base), str(adapter) if adapter else None
    served = make_backend(name, options)
    served.on_tokens = lambda n: tokens_charge(student_id, n)
    served.cache_key = f"session-{session_id}"
    return served


def next_turn_prefill(
    verbaliser: Verbaliser, problem: Any, position: Any, max_attempts: int, history: list[tuple[str, str]]
) -> None:
    """Have a served verbaliser (one with ``prefill_turn``) prefill the session's next turn up to the student's words.

    The next prompt's system message (at the new position) and conversation
    are known once a turn is stored; only the student's words and the JSON
    prefix the policy forces are not. Prefilling the rest now, while the
    student reads and types, leaves the next turn about 60 tokens to prefill
    (``ServedVerbaliser.prefill_turn``). Best effort: a failure is logged
    and the turn simply prefills more.
    """
    from models.llm.turnformat import TurnContext

    try:
        verbaliser.prefill_turn(TurnContext(problem, position, "answer", "", max_attempts, tuple(history)))
    except Exception:
        log.exception("prefilling the next turn failed")

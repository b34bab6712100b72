"""The live tutor model: what new sessions are tutored with.

The newest ``ModelPromotion`` names it. A session records that name when it
starts (``session_start`` sets ``TutorSession.tutor_model``) and keeps it, so a
promotion changes the model of new sessions only: a student mid-problem is
not switched to another tutor between two turns.

``live_model_dirs()`` is what the serving engine loads (docs/serving.md):
the model's name, its base directory and its adapter directory (None for a
full model). Pass ``session_id`` to get the model that session started with.
"""

from __future__ import annotations

import logging
from pathlib import Path

from models.llm.base import BaseModelError
from models.llm.registry import RegistryError
from tutor.tutormodels import catalog
from tutor.tutormodels.models import ModelPromotion

log = logging.getLogger(__name__)
# The fine-tuned model shipped in models/registry/; load_demo promotes it when nothing is live.
SHIPPED_DEFAULT = "tutor-smollm2-lora-v1"


def live_name() -> str | None:
    """The name of the model promoted last, or None when nothing was ever promoted."""
    return ModelPromotion.objects.order_by("-promoted_at", "-id").values_list("model_name", flat=True).first()


def session_model_name(session_id: int) -> str | None:
    """The model a session started with ('' before any promotion: None)."""
    from tutor.dialogue.models import TutorSession

    name = TutorSession.objects.filter(pk=session_id).values_list("tutor_model", flat=True).first()
    return name or None


def live_model_dirs(session_id: int | None = None) -> tuple[str, Path, Path | None] | None:
    """(name, base model dir, adapter dir or None) of the live model, or of ``session_id``'s model.

    None when no model is live (or the session started before any was), or
    when the named model cannot be loaded here (its entry or base is gone:
    logged); the caller then serves its default.
    """
    name = session_model_name(session_id) if session_id is not None else live_name()
    if not name:
        return None
    try:
        entry = catalog.find(name)
        base, adapter = entry.model_dirs()
    except (RegistryError, BaseModelError) as error:
        log.warning("tutor model %r cannot be served: %s", name, error)
        return None
    return name, Path(base), adapter

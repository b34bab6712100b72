"""Writes of the tutor-model registry: ``tutormodel_promote()`` is the only one."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from models.llm.registry import RegistryError
from tutor.accounts.models import User
from tutor.audit.actions import audit_record
from tutor.tutormodels import catalog
from tutor.tutormodels.models import ModelPromotion


class PromoteError(ValueError):
    """The model cannot be promoted: no such entry, or its weights cannot be loaded here."""


def tutormodel_promote(*, name: str, actor: User | None, request: HttpRequest | None = None) -> ModelPromotion:
    """Make ``name`` the live model for new sessions; append the promotion and its audit event atomically.

    Refuses a name that is not in the registry or whose base or adapter is
    missing here, so the live model is always one that can be served.
    """
    try:
        entry = catalog.find(name)
    except RegistryError as error:
        raise PromoteError(str(error)) from error
    if not catalog.resolvable(entry):
        raise PromoteError(f"model {name!r} cannot be loaded here: its base model or adapter files are missing")
    with transaction.atomic():
        promotion = ModelPromotion.objects.create(model_name=name, promoted_by=actor)
        audit_record(
            action="model_promote",
            actor=actor,
            object_type="model",
            object_id=name,
            detail={"shipped": entry.shipped},
            request=request,
        )
    return promotion

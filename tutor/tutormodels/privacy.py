"""Privacy provider for tutor models: who promoted a model to live.

The promotion history says which model answered students when, so it stays;
the admin's link to it is cleared (anonymised), as deleting the user would
do anyway (``SET_NULL``).
"""

from __future__ import annotations

from tutor.privacy.providers import PrivacyProvider, register, rows, table
from tutor.tutormodels.models import ModelPromotion


@register
class TutorModelsPrivacy(PrivacyProvider):
    models = {"tutormodels.ModelPromotion": ("promoted_by",)}

    def export(self, user) -> dict[str, list[dict]]:
        promoted = rows(ModelPromotion.objects.filter(promoted_by=user))
        return {table(ModelPromotion): promoted} if promoted else {}

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        cleared = ModelPromotion.objects.filter(promoted_by=user).update(promoted_by=None)
        return {f"{table(ModelPromotion)} (anonymised)": cleared} if cleared else {}

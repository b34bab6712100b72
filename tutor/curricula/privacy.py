"""Privacy provider for curricula: who imported a curriculum or uploaded a package.

A curriculum and an upload are the school's teaching material, not personal
data; only the link to the admin who made them is: cleared (anonymised).
"""

from __future__ import annotations

from tutor.curricula.models import Curriculum, CurriculumUpload
from tutor.privacy.providers import PrivacyProvider, register, table


@register
class CurriculaPrivacy(PrivacyProvider):
    models = {"curricula.Curriculum": ("imported_by",), "curricula.CurriculumUpload": ("uploaded_by",)}

    def export(self, user) -> dict[str, list[dict]]:
        out = {}
        imported = list(
            Curriculum.objects.filter(imported_by=user)
            .order_by("pk")
            .values("id", "slug", "version", "title", "created_at")
        )
        if imported:
            out[table(Curriculum)] = imported
        uploaded = list(
            CurriculumUpload.objects.filter(uploaded_by=user)
            .order_by("pk")
            .values("id", "filename", "source_format", "status", "created_at")
        )
        if uploaded:
            out[table(CurriculumUpload)] = uploaded
        return out

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        counts = {
            f"{table(Curriculum)} (anonymised)": Curriculum.objects.filter(imported_by=user).update(imported_by=None),
            f"{table(CurriculumUpload)} (anonymised)": CurriculumUpload.objects.filter(uploaded_by=user).update(
                uploaded_by=None
            ),
        }
        return {name: n for name, n in counts.items() if n}

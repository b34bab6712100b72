"""Privacy provider for the learner model: mastery state and history, ability, placement tests, item answers.

All deleted. They describe one student and nothing else needs them: the
fitted item parameters (``ItemCalibration``) are aggregates over many
students and stay; the next refit no longer sees this student's answers.
"""

from __future__ import annotations

from tutor.learners.models import Ability, ItemResponse, LearnerModelState, MasteryEvent, PlacementTest
from tutor.privacy.providers import PrivacyProvider, deleted, merge, register, rows, table

MODELS = (LearnerModelState, MasteryEvent, Ability, ItemResponse, PlacementTest)


@register
class LearnersPrivacy(PrivacyProvider):
    models = {f"learners.{m.__name__}": ("student",) for m in MODELS}

    def export(self, user) -> dict[str, list[dict]]:
        return {table(model): rows(model.objects.filter(student=user)) for model in MODELS}

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        return merge(*(deleted(model.objects.filter(student=user)) for model in MODELS))

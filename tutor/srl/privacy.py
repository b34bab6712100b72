"""Privacy provider for self-regulated learning: study sessions, the SRL event log, leaderboard opt-ins.

The student's study sessions (goals, reflections in their own words), events
(XP, badges, check-ins) and opt-ins are deleted. A class's game switches
(``ClassGameSetting``) belong to the class: a teacher's name on them is
cleared (``updated_by``), the switches stay.
"""

from __future__ import annotations

from tutor.privacy.providers import PrivacyProvider, deleted, merge, register, rows, table
from tutor.srl.models import ClassGameSetting, LeaderboardOptIn, SrlEvent, StudySession


@register
class SrlPrivacy(PrivacyProvider):
    models = {
        "srl.StudySession": ("student",),
        "srl.SrlEvent": ("student",),
        "srl.LeaderboardOptIn": ("student",),
        "srl.ClassGameSetting": ("updated_by",),
    }

    def export(self, user) -> dict[str, list[dict]]:
        out = {model_table: rows(model.objects.filter(student=user)) for model, model_table in self._owned()}
        changed = rows(ClassGameSetting.objects.filter(updated_by=user))
        if changed:
            out[table(ClassGameSetting)] = changed
        return out

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        counts = merge(*(deleted(model.objects.filter(student=user)) for model, _ in self._owned()))
        cleared = ClassGameSetting.objects.filter(updated_by=user).update(updated_by=None)
        if cleared:
            counts[f"{table(ClassGameSetting)} (anonymised)"] = cleared
        return counts

    @staticmethod
    def _owned():
        return [(m, table(m)) for m in (SrlEvent, StudySession, LeaderboardOptIn)]

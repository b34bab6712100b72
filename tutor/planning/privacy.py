"""Privacy provider for planning: goals and the planner's decision log.

- a student's own goals and every plan decision about them: deleted;
- goals a teacher set for a class or for other students stay (they are the
  class's), with ``set_by`` cleared: anonymised.
"""

from __future__ import annotations

from tutor.planning.models import Goal, PlanDecision
from tutor.privacy.providers import PrivacyProvider, deleted, merge, register, rows, table


@register
class PlanningPrivacy(PrivacyProvider):
    models = {"planning.Goal": ("student", "set_by"), "planning.PlanDecision": ("student",)}

    def export(self, user) -> dict[str, list[dict]]:
        goals = rows(Goal.objects.filter(student=user) | Goal.objects.filter(set_by=user))
        return {table(Goal): goals, table(PlanDecision): rows(PlanDecision.objects.filter(student=user))}

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        counts = merge(deleted(Goal.objects.filter(student=user)), deleted(PlanDecision.objects.filter(student=user)))
        cleared = Goal.objects.filter(set_by=user).update(set_by=None)
        if cleared:
            counts[f"{table(Goal)} (anonymised)"] = cleared
        return counts

"""Privacy provider for coaching: dashboard aggregates, teachers' turn flags and misconception suggestions.

- The per-student aggregate rows (``StudentSummary``, ``ConceptAggregate``,
  ``DailyActivity``, ``MisconceptionAggregate``) are a cache rebuilt from the
  learner data: deleted, so the class dashboard no longer counts the student.
- A teacher's flags and suggestions are about the tutor and the curriculum,
  not about a person: they stay, with ``flagged_by``/``suggested_by`` cleared.
- A suggestion's ``examples`` are wrong answers *as students typed them*,
  with no link to who typed them. The student's own answers are matched by
  their text (case and spacing folded, as the clustering does) and removed;
  a suggestion whose representative answer is the student's is deleted.
  This runs before the dialogue provider deletes the messages it reads.
"""

from __future__ import annotations

from tutor.coaching.actions import MAX_ANSWER_CHARS
from tutor.coaching.models import (
    ConceptAggregate,
    DailyActivity,
    MisconceptionAggregate,
    MisconceptionSuggestion,
    StudentSummary,
    TurnFlag,
)
from tutor.dialogue.models import Message
from tutor.privacy.providers import PrivacyProvider, deleted, merge, register, rows, table

AGGREGATES = (StudentSummary, ConceptAggregate, DailyActivity, MisconceptionAggregate)


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def _answers_of(user) -> set[str]:
    texts = Message.objects.filter(session__student=user, role=Message.Role.STUDENT).values_list("text", flat=True)
    return {_fold(t) for t in texts} | {_fold(t[:MAX_ANSWER_CHARS]) for t in texts}


@register
class CoachingPrivacy(PrivacyProvider):
    models = {
        **{f"coaching.{m.__name__}": ("student",) for m in AGGREGATES},
        "coaching.TurnFlag": ("flagged_by",),
        "coaching.MisconceptionSuggestion": ("suggested_by",),
    }
    order = 30  # before dialogue: reads the student's messages

    def export(self, user) -> dict[str, list[dict]]:
        out = {table(model): rows(model.objects.filter(student=user)) for model in AGGREGATES}
        flags = rows(TurnFlag.objects.filter(flagged_by=user))
        if flags:
            out[table(TurnFlag)] = flags
        suggestions = rows(MisconceptionSuggestion.objects.filter(suggested_by=user))
        if suggestions:
            out[table(MisconceptionSuggestion)] = suggestions
        return out

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        counts = merge(*(deleted(model.objects.filter(student=user)) for model in AGGREGATES))
        anonymised = {
            table(TurnFlag): TurnFlag.objects.filter(flagged_by=user).update(flagged_by=None),
            table(MisconceptionSuggestion): MisconceptionSuggestion.objects.filter(suggested_by=user).update(
                suggested_by=None
            ),
        }
        answers = _answers_of(user)
        scrubbed = 0
        if answers:
            for suggestion in list(MisconceptionSuggestion.objects.all()):
                kept = [e for e in suggestion.examples if _fold(str(e)) not in answers]
                if _fold(suggestion.answer) in answers:
                    counts = merge(counts, deleted(MisconceptionSuggestion.objects.filter(pk=suggestion.pk)))
                elif len(kept) != len(suggestion.examples):
                    suggestion.examples = kept
                    suggestion.students = max(0, suggestion.students - 1)
                    suggestion.save(update_fields=["examples", "students"])
                    scrubbed += 1
        anonymised[table(MisconceptionSuggestion)] += scrubbed
        counts.update({f"{name} (anonymised)": n for name, n in anonymised.items() if n})
        return counts

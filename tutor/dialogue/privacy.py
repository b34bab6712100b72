"""Privacy provider for tutoring: sessions and every message in them (the transcripts).

Deleted, not anonymised: a transcript is the student's own words, and an
anonymised transcript can still identify its author. Deleting a session
deletes its messages and, with them, teachers' flags on those turns
(``coaching.TurnFlag`` cascades); mastery evidence learned from a turn stays
with the learner model only until the learners provider deletes it too.
"""

from __future__ import annotations

from tutor.agents.record import STUDENT_VISIBLE_FIELDS
from tutor.dialogue.models import Message, TutorSession
from tutor.privacy.providers import PrivacyProvider, deleted, register, rows, table


@register
class DialoguePrivacy(PrivacyProvider):
    models = {"dialogue.TutorSession": ("student",), "dialogue.Message": ()}
    order = 40  # after coaching, which reads the student's answers to scrub its suggestions

    def export(self, user) -> dict[str, list[dict]]:
        sessions = rows(TutorSession.objects.filter(student=user))
        titles = dict(TutorSession.objects.filter(student=user).values_list("pk", "problem__title"))
        for row in sessions:
            row["problem_title"] = titles.get(row["id"], "")
        messages = rows(Message.objects.filter(session__student=user))
        for row in messages:
            # The tutor's full record (its thoughts, the matched misconception) can give the
            # answer key away; the export shows what the student's own screen shows.
            row["record"] = {k: v for k, v in (row["record"] or {}).items() if k in STUDENT_VISIBLE_FIELDS}
        return {table(TutorSession): sessions, table(Message): messages}

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        return deleted(TutorSession.objects.filter(student=user))

"""Privacy provider for the audit log: anonymised, never deleted.

The log must survive a deletion (it is how a school shows who saw or
exported a student's records, FERPA's record of disclosures), so the user's
events stay and lose the user: ``actor``/``subject`` become NULL, the copied
names become the deletion's pseudonym, the IP address of the user's own
actions is cleared, and an ``object_id`` that was the user's id is blanked.
``AuditEvent.save(_privacy_anonymise=True)`` is the model's one escape hatch
from append-only, for this provider only.
"""

from __future__ import annotations

from django.db.models import Q

from tutor.audit.models import AuditEvent
from tutor.privacy.providers import PrivacyProvider, register, rows, table

USER_OBJECT_TYPES = ("user", "privacy_export")


def _events(user):
    return AuditEvent.objects.filter(
        Q(actor=user) | Q(subject=user) | Q(object_type__in=USER_OBJECT_TYPES, object_id=str(user.pk))
    )


@register
class AuditPrivacy(PrivacyProvider):
    models = {"audit.AuditEvent": ("actor", "subject")}
    order = 90  # after the providers whose actions may still log, before the user row goes

    def export(self, user) -> dict[str, list[dict]]:
        found = rows(_events(user))
        for row in found:
            if row["actor_id"] != user.pk:
                row["ip"] = None  # someone else's address is theirs, not this user's data
        return {table(AuditEvent): found}

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        touched = 0
        for event in list(_events(user)):
            if event.actor_id == user.pk:
                event.actor = None
                event.actor_name = pseudonym
                event.ip = None
            if event.subject_id == user.pk:
                event.subject = None
                event.subject_name = pseudonym
            if event.object_type in USER_OBJECT_TYPES and event.object_id == str(user.pk):
                event.object_id = ""
            event.detail = {k: (pseudonym if v == user.username else v) for k, v in (event.detail or {}).items()}
            event.save(_privacy_anonymise=True)
            touched += 1
        return {f"{table(AuditEvent)} (anonymised)": touched} if touched else {}

"""Privacy provider for the privacy app itself: deletion requests.

A request outlives its user (it is the proof that the deletion was asked for
and done), so it is anonymised: ``user`` NULL and ``username`` the request's
pseudonym; a requester's or canceller's link is cleared.
"""

from __future__ import annotations

from tutor.privacy.models import DeletionRequest
from tutor.privacy.providers import PrivacyProvider, register, rows, table


@register
class PrivacyRequestsPrivacy(PrivacyProvider):
    models = {"privacy.DeletionRequest": ("user", "requested_by", "cancelled_by")}
    order = 92

    def export(self, user) -> dict[str, list[dict]]:
        return {table(DeletionRequest): rows(DeletionRequest.objects.filter(user=user))}

    def delete(self, user, *, pseudonym: str) -> dict[str, int]:
        touched = 0
        for deletion in DeletionRequest.objects.filter(user=user):
            deletion.user = None
            deletion.username = deletion.pseudonym
            deletion.save(update_fields=["user", "username"])
            touched += 1
        touched += DeletionRequest.objects.filter(requested_by=user).update(requested_by=None)
        touched += DeletionRequest.objects.filter(cancelled_by=user).update(cancelled_by=None)
        return {f"{table(DeletionRequest)} (anonymised)": touched} if touched else {}

"""Privacy providers for accounts: the user row, enrolments, classes taught; Django's sessions and admin log.

Delete vs anonymise:

- enrolments are deleted (they say which classes the student was in);
- the user row is deleted, unless the user still teaches a class: ``Classroom.teacher``
  is PROTECT because a class, its roster and goals belong to the school, not
  to the teacher. Then the row is anonymised instead (username -> pseudonym,
  names and email cleared, no usable password, inactive), so the class keeps
  an owner an admin can reassign and nobody can sign in as it;
- the user's Django sessions are deleted (signs them out everywhere);
- admin log entries the user made are deleted; entries about the user keep
  their action but name the pseudonym instead of the user.
"""

from __future__ import annotations

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session

from tutor.accounts.models import Classroom, Enrollment, User
from tutor.privacy.providers import PrivacyProvider, deleted, register, rows, table

PERSONAL_USER_FIELDS_EXCLUDED = ("password",)


@register
class AccountsPrivacy(PrivacyProvider):
    models = {
        "accounts.User": (),
        "accounts.User_groups": ("user",),
        "accounts.User_user_permissions": ("user",),
        "accounts.Enrollment": ("student",),
        "accounts.Classroom": ("teacher", "students"),
    }
    order = 100  # last: every other provider still finds the user

    def export(self, user: User) -> dict[str, list[dict]]:
        me = rows(User.objects.filter(pk=user.pk), exclude=PERSONAL_USER_FIELDS_EXCLUDED)
        for row in me:
            row["groups"] = list(user.groups.values_list("name", flat=True))
        enrolments = list(
            Enrollment.objects.filter(student=user)
            .order_by("pk")
            .values("id", "classroom_id", "classroom__name", "joined_at")
        )
        classes = rows((Classroom.objects.filter(teacher=user) | Classroom.objects.filter(students=user)).distinct())
        teachers = dict(User.objects.filter(classrooms__in=[c["id"] for c in classes]).values_list("pk", "username"))
        for row in classes:
            row["teacher_username"] = teachers.get(row["teacher_id"], "")
        return {table(User): me, table(Enrollment): enrolments, table(Classroom): classes}

    def delete(self, user: User, *, pseudonym: str) -> dict[str, int]:
        counts = deleted(Enrollment.objects.filter(student=user))
        if Classroom.objects.filter(teacher=user).exists():
            user.groups.clear()
            user.user_permissions.clear()
            user.username = pseudonym
            user.first_name = user.last_name = user.email = ""
            user.set_unusable_password()
            user.is_active = user.is_staff = user.is_superuser = False
            user.last_login = None
            user.save()
            counts[f"{table(User)} (anonymised)"] = 1
            return counts
        counts.update(deleted(User.objects.filter(pk=user.pk)))
        return counts


def _sessions_of(user: User):
    """The user's Django sessions: only the decoded data names the user, so each is decoded."""
    key = str(user.pk)
    for session in Session.objects.all().iterator():
        if session.get_decoded().get("_auth_user_id") == key:
            yield session


@register
class DjangoSessionsPrivacy(PrivacyProvider):
    """Sign-in sessions (``django.contrib.sessions``): no foreign key, the user id is in the signed data."""

    models = {"sessions.Session": ()}
    order = 95

    def export(self, user: User) -> dict[str, list[dict]]:
        # The session key is a credential: only when each session expires is exported.
        return {table(Session): [{"expire_date": s.expire_date} for s in _sessions_of(user)]}

    def delete(self, user: User, *, pseudonym: str) -> dict[str, int]:
        keys = [s.session_key for s in _sessions_of(user)]
        return deleted(Session.objects.filter(session_key__in=keys)) if keys else {}


@register
class AdminLogPrivacy(PrivacyProvider):
    """Django admin's change log: what an admin did (``user``) and what was done to a user (``object_id``)."""

    models = {"admin.LogEntry": ("user",)}
    order = 95

    def _about(self, user: User):
        return LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk))

    def export(self, user: User) -> dict[str, list[dict]]:
        return {table(LogEntry): rows(LogEntry.objects.filter(user=user)) + rows(self._about(user))}

    def delete(self, user: User, *, pseudonym: str) -> dict[str, int]:
        counts = deleted(LogEntry.objects.filter(user=user))
        about = self._about(user).update(object_repr=pseudonym, object_id="")
        if about:
            counts[f"{table(LogEntry)} (anonymised)"] = about
        return counts

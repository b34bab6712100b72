"""Every write to accounts and classes lives here, under a greppable name."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tutor.accounts.models import Classroom, Enrollment, User
from tutor.accounts.roster import RosterError, parse_roster


class ActionError(ValueError):
    """A request that cannot be carried out; the message is safe to show."""


def classroom_create(*, teacher: User, name: str) -> Classroom:
    name = name.strip()
    if not teacher.is_teacher:
        raise ActionError("only teachers can create classes")
    if not name:
        raise ActionError("the class needs a name")
    if len(name) > 120:
        raise ActionError("the class name is longer than 120 characters")
    for _ in range(5):  # a code collision is rare; retry with a fresh code
        try:
            with transaction.atomic():
                return Classroom.objects.create(teacher=teacher, name=name)
        except IntegrityError:
            continue
    raise ActionError("could not allocate a class code; please try again")


def classroom_join(*, student: User, code: str) -> Classroom:
    if not student.is_student:
        raise ActionError("only students can join a class with a code")
    code = code.strip().upper().replace(" ", "")
    if not code:
        raise ActionError("enter the class code your teacher gave you")
    classroom = Classroom.objects.filter(code=code).first()
    if classroom is None:
        raise ActionError(f"no class has the code {code!r}; check it with your teacher")
    Enrollment.objects.get_or_create(classroom=classroom, student=student)
    return classroom


@dataclass
class RosterResult:
    enrolled: list[str] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # username -> generated password
    already_enrolled: list[str] = field(default_factory=list)


def roster_import(*, classroom: Classroom, data: bytes) -> RosterResult:
    """Enrol every student in a roster CSV, creating accounts as needed.

    All or nothing: every row is validated (format, then against existing
    accounts) before the first write, and the writes share one transaction,
    so a bad row adds nobody.
    """
    rows = parse_roster(data)
    existing = {u.username.lower(): u for u in User.objects.filter(username__in=[r.username for r in rows])}
    # usernames are case-sensitive in Django; look up case-insensitively too
    for row in rows:
        user = existing.get(row.username.lower()) or User.objects.filter(username__iexact=row.username).first()
        if user is not None and not user.is_student:
            raise RosterError(f"line {row.line}: {row.username!r} is a {user.role} account, not a student")
        if user is None and row.password:
            try:
                validate_password(row.password, User(username=row.username, email=row.email))
            except ValidationError as exc:
                raise RosterError(f"line {row.line}: password rejected: {' '.join(exc.messages)}") from None

    result = RosterResult()
    with transaction.atomic():
        for row in rows:
            user = User.objects.filter(username__iexact=row.username).first()
            if user is None:
                password = row.password or _generated_password()
                user = User.objects.create_user(
                    username=row.username,
                    password=password,
                    email=row.email,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    role=User.Role.STUDENT,
                )
                if not row.password:
                    result.created[user.username] = password
            _, new = Enrollment.objects.get_or_create(classroom=classroom, student=user)
            (result.enrolled if new else result.already_enrolled).append(user.username)
    return result


def _generated_password() -> str:
    words = secrets.token_urlsafe(9)
    return f"tg-{words}"

"""Object-level permissions: the one place that decides who sees whom.

Every HTTP view and every WebSocket ``connect``/``receive`` asks these
functions; nothing else compares user ids. The rules:

- a student sees only their own sessions;
- a teacher sees the students (and their sessions) of classes they own;
- an admin sees everything;
- only teachers and admins see the tutor's full turn records (labels, thoughts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from tutor.accounts.models import Classroom, Enrollment, User

if TYPE_CHECKING:
    from tutor.dialogue.models import TutorSession


def teaches(teacher: User, student: User) -> bool:
    """True when ``student`` is enrolled in a class that ``teacher`` owns."""
    return Enrollment.objects.filter(classroom__teacher=teacher, student=student).exists()


def can_view_student(user: User, student: User) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_admin or user.pk == student.pk:
        return True
    return user.is_teacher and teaches(user, student)


def can_view_session(user: User, session: TutorSession) -> bool:
    return can_view_student(user, session.student)


def can_view_turn_labels(user: User, session: TutorSession) -> bool:
    """Teachers and admins who may see a session also see each turn's full record.

    The record's thoughts and misconception ids are for the adults: thoughts
    can mention why an answer was wrong, which is close to the answer key.
    """
    return (user.is_teacher or user.is_admin) and can_view_session(user, session)


def can_post_in_session(user: User, session: TutorSession) -> bool:
    """Only the student who owns a session may speak in it."""
    return user.is_authenticated and user.is_active and session.student_id == user.pk


def classrooms_visible_to(user: User) -> QuerySet[Classroom]:
    if user.is_admin:
        return Classroom.objects.all()
    if user.is_teacher:
        return Classroom.objects.filter(teacher=user)
    return Classroom.objects.none()

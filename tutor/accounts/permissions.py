"""Object-level permissions: the one place that decides who sees whom.

Every HTTP view and every WebSocket ``connect``/``receive`` asks these
functions; nothing else compares user ids. The rules:

- a student sees only their own sessions;
- a teacher sees the students (and their sessions) of classes they own;
- an admin sees everything;
- only teachers and admins see the tutor's full turn records (labels, thoughts);
- learning plans and goals: a student sees and sets their own, a teacher those of
  students in their classes that use the curriculum, and assigns goals to those classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from tutor.accounts.models import Classroom, Enrollment, User

if TYPE_CHECKING:
    from tutor.curricula.models import Curriculum
    from tutor.dialogue.models import TutorSession
    from tutor.planning.models import Goal


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


def _teaches_with(teacher: User, student: User, curriculum_slug: str) -> bool:
    """``student`` is in a class of ``teacher`` that uses a version of the curriculum."""
    return Enrollment.objects.filter(
        classroom__teacher=teacher, student=student, classroom__curricula__slug=curriculum_slug
    ).exists()


def can_view_plan(user: User, student: User, curriculum: Curriculum) -> bool:
    """A learning plan (with its goals and decision log) is the student's, their teachers' in that subject, and admins'.

    A teacher who has the student in another subject's class does not see
    this curriculum's plan: the class is what makes a teacher responsible.
    """
    if not user.is_authenticated or not user.is_active or not student.is_student:
        return False
    in_class = Enrollment.objects.filter(student=student, classroom__curricula__slug=curriculum.slug).exists()
    if not in_class:
        return False
    if user.is_admin or user.pk == student.pk:
        return True
    return user.is_teacher and _teaches_with(user, student, curriculum.slug)


def can_set_goal(user: User, student: User, curriculum: Curriculum) -> bool:
    """Students choose their own goals; their teachers (in that curriculum) and admins assign them."""
    return can_view_plan(user, student, curriculum)


def can_assign_class_goal(user: User, classroom: Classroom) -> bool:
    return classrooms_visible_to(user).filter(pk=classroom.pk).exists()


def can_remove_goal(user: User, goal: Goal) -> bool:
    """A student removes only goals they chose; a teacher the goals of their classes and their students."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_admin:
        return True
    if goal.classroom_id is not None:
        return user.is_teacher and goal.classroom.teacher_id == user.pk
    if user.pk == goal.student_id:
        return goal.set_by_id == user.pk
    return user.is_teacher and _teaches_with(user, goal.student, goal.curriculum_slug)


# --- Coaching reports (tutor/coaching) -------------------------------------------------------------------


def can_view_class_reports(user: User, classroom: Classroom) -> bool:
    """A class's dashboard, misconceptions and recommendations: its teacher and admins, nobody else."""
    if not user.is_authenticated or not user.is_active:
        return False
    return classrooms_visible_to(user).filter(pk=classroom.pk).exists()


def can_view_student_report(user: User, classroom: Classroom, student: User) -> bool:
    """A student's drill-down inside a class: who may see the class's reports, for a student enrolled in it."""
    return can_view_class_reports(user, classroom) and classroom.students.filter(pk=student.pk).exists()


def can_flag_turn(user: User, session: TutorSession) -> bool:
    """Flagging a tutor turn as wrong is for the adults who may read its labels."""
    return can_view_turn_labels(user, session)


def can_use_transcript_coaching(user: User) -> bool:
    """Coaching on one's own classroom transcript: any active teacher or admin (the report is shown, not stored)."""
    return user.is_authenticated and user.is_active and (user.is_teacher or user.is_admin)


# --- Privacy: export and deletion (tutor/privacy) ---------------------------------------------------------


def can_manage_privacy_of(user: User, subject: User) -> bool:
    """Export a user's data or ask for its deletion: the user, their teachers (any class of theirs), admins.

    The school decides, through its teachers and admins, on behalf of a
    student (FERPA's parent or eligible student asks the school); a teacher
    acts only for students enrolled in a class they own, never for another
    teacher or an admin.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_admin or user.pk == subject.pk:
        return True
    return user.is_teacher and subject.is_student and teaches(user, subject)

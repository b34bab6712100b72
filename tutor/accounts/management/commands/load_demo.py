"""Load the demo curricula, classes and users, and the demo class's tutoring history; print the logins.

Safe to run on every start: it creates what is missing, imports a demo
curriculum only when its file changed since the last import, and leaves
everything else alone.

Demo activity: so that tess's class dashboard has something to show, ten
extra students of "Grade 5 Maths" (``DEMO_CLASSMATES``) work a few fractions
problems through the real tutoring pipeline (``session_start``,
``student_message_post``, ``turn_run``): right answers, authored
misconceptions from the demo file, free-text wrong answers, hint requests, a
student who clicks hints in quick succession and one who gets stuck. Every
reply, CLASS record and piece of mastery evidence is the tutor's own. Only the
timestamps are moved afterwards, onto school afternoons of the last three
weeks, because a history written in one second would show one day of activity
and nobody inactive. alice and bob keep an empty history: the browser tests
and a new user's first look at the student pages start from a clean slate.

Deterministic (``ACTIVITY_SEED``) and idempotent per student: a classmate
who already has a tutoring session is skipped, so a second run adds nothing
and costs a query per classmate.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from tutor.accounts.models import Classroom, Enrollment, User
from tutor.curricula.importer import curriculum_import, package_sha256
from tutor.curricula.models import Curriculum, Problem, Subproblem
from tutor.curricula.package import read_package
from tutor.dialogue.actions import session_start, student_message_post, turn_run
from tutor.dialogue.models import Message, TutorSession
from tutor.learners.models import MasteryEvent

DEMO_DIR = Path(__file__).resolve().parents[3] / "curricula" / "demo"
DEMO_USERS = [
    # username, role, first name, last name
    ("alice", User.Role.STUDENT, "Alice", "Adams"),
    ("bob", User.Role.STUDENT, "Bob", "Brown"),
    ("tess", User.Role.TEACHER, "Tess", "Taylor"),
    ("adam", User.Role.ADMIN, "Adam", "Admin"),
]
# Classmates with tutoring history in Grade 5 Maths: username, first, last, skill (chance of a right answer),
# days since they last worked (over 7: "inactive" on the dashboard), and a habit.
DEMO_CLASSMATES = [
    ("chloe", "Chloe", "Chen", 0.9, 0, ""),
    ("diego", "Diego", "Diaz", 0.55, 1, ""),
    ("ella", "Ella", "Evans", 0.75, 2, ""),
    ("finn", "Finn", "Fischer", 0.3, 0, "stuck"),
    ("gia", "Gia", "Garcia", 0.6, 3, "hints"),
    ("hana", "Hana", "Hughes", 0.85, 9, ""),
    ("ivan", "Ivan", "Ito", 0.5, 1, "fast-hints"),
    ("jade", "Jade", "Jones", 0.7, 12, ""),
    ("kai", "Kai", "Khan", 0.45, 2, ""),
    ("luis", "Luis", "Lopez", 0.8, 4, ""),
]
DEMO_CLASSMATE_CLASS = "MATH5A"
DEMO_PROBLEMS = ["pizza-eighths", "number-line-thirds", "area-model-fifths", "ribbon-fourths", "garden-sevenths"]
ACTIVITY_SEED = 2026
MAX_TRIES_PER_STEP = 5

DEMO_CLASSES = [
    # name, join code, students, curriculum ids
    ("Grade 5 Maths", "MATH5A", ["alice", "bob"], ["fractions"]),
    ("Biology 9", "BIO9AA", ["alice"], ["cell-biology"]),
]


class Command(BaseCommand):
    help = "Create the demo curricula, classes and users (idempotent) and print the logins."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            curricula = self._curricula()
            users = self._users(settings.DEMO_PASSWORD)
            self._classes(users, curricula)
        if "fractions" in curricula:
            worked = demo_activity(curricula["fractions"], settings.DEMO_PASSWORD)
            if worked:
                self.stdout.write(f"Demo tutoring history for {worked} classmates in Grade 5 Maths")
        self._tutor_model()
        self.stdout.write(f"\nTutorgraph demo logins (password: {settings.DEMO_PASSWORD})\n")
        for username, role, *_ in DEMO_USERS:
            self.stdout.write(f"  {role:<8} {username}")
        self.stdout.write(f"  (and {len(DEMO_CLASSMATES)} classmates of alice and bob with tutoring history)")
        self.stdout.write("")

    def _tutor_model(self) -> None:
        """Make the shipped fine-tuned tutor model live when none is, so `make run` tutors with it."""
        from tutor.tutormodels.actions import PromoteError, tutormodel_promote
        from tutor.tutormodels.live import SHIPPED_DEFAULT, live_name

        if live_name() is not None:
            return
        try:
            tutormodel_promote(name=SHIPPED_DEFAULT, actor=None)
        except PromoteError as error:
            self.stderr.write(f"No tutor model made live: {error}")
        else:
            self.stdout.write(
                f"Tutor model {SHIPPED_DEFAULT} is live: it words new sessions if TUTOR_BACKEND is turnmodel or served"
            )

    def _curricula(self) -> dict[str, Curriculum]:
        out = {}
        for path in sorted(DEMO_DIR.glob("*.*")):
            if path.suffix not in (".json", ".yaml", ".yml"):
                continue
            doc = read_package(path.read_bytes(), path.name)
            latest = Curriculum.objects.filter(slug=doc["id"]).order_by("-version").first()
            if latest is None or latest.sha256 != package_sha256(doc):
                latest = curriculum_import(doc).curriculum
                self.stdout.write(f"Imported {latest} from {path.name}")
            out[latest.slug] = latest
        return out

    def _users(self, password: str) -> dict[str, User]:
        users = {}
        for username, role, first, last in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(
                    username=username, password=password, role=role, first_name=first, last_name=last
                )
            if role == User.Role.ADMIN and not (user.is_staff and user.is_superuser):
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            users[username] = user
        return users

    def _classes(self, users: dict[str, User], curricula: dict[str, Curriculum]) -> None:
        for name, code, students, assigned in DEMO_CLASSES:
            classroom, _ = Classroom.objects.get_or_create(code=code, defaults={"name": name, "teacher": users["tess"]})
            classroom.curricula.add(*(curricula[slug] for slug in assigned if slug in curricula))
            for username in students:
                Enrollment.objects.get_or_create(classroom=classroom, student=users[username])


def demo_activity(curriculum: Curriculum, password: str) -> int:
    """Give each demo classmate without a session their tutoring history; return how many got one.

    One transaction per classmate: a run that stops halfway leaves whole
    students, and the next run completes the rest. The dashboard's aggregates
    refresh after each commit, through the same hook as live turns (and after
    the backdating, which happens inside the same transaction). Each post
    also hands its turn to the executor after commit, as in a live session;
    ``turn_run`` is idempotent, so those find the message answered and do nothing.
    """
    classroom = Classroom.objects.filter(code=DEMO_CLASSMATE_CLASS).first()
    if classroom is None:
        return 0
    problems = {p.key: p for p in curriculum.problems.filter(key__in=DEMO_PROBLEMS).prefetch_related("subproblems")}
    worked, hashed = 0, None
    for i, (username, first, last, skill, days_ago, habit) in enumerate(DEMO_CLASSMATES):
        student = User.objects.filter(username=username).first()
        if student is not None and TutorSession.objects.filter(student=student).exists():
            continue
        rng = random.Random(f"{ACTIVITY_SEED}-{username}")
        with transaction.atomic():
            if student is None:
                hashed = hashed or make_password(password)  # one PBKDF2 run (0.3 s), not one per classmate
                student = User.objects.create(
                    username=username, password=hashed, role=User.Role.STUDENT, first_name=first, last_name=last
                )
            Enrollment.objects.get_or_create(classroom=classroom, student=student)
            keys = [k for k in DEMO_PROBLEMS if k in problems][: 2 + i % 3 + (habit == "stuck")]
            for n, key in enumerate(keys):
                day = days_ago + 2 * (len(keys) - 1 - n)  # earlier problems on earlier days
                _work_problem(student, problems[key], rng, skill, habit, day)
        worked += 1
    return worked


def _work_problem(student: User, problem: Problem, rng: random.Random, skill: float, habit: str, days_ago: int) -> None:
    """One session on ``problem`` through the real pipeline, then its timestamps moved to ``days_ago`` days back."""
    session = session_start(student=student, problem=problem)
    steps = list(problem.subproblems.all())
    seq = 0

    def say(text: str, kind: str = "answer") -> None:
        nonlocal seq
        seq += 1
        posted = student_message_post(session=session, client_id=f"demo-{session.pk}-{seq}", text=text, kind=kind)
        turn_run(posted.message.pk)

    for index, step in enumerate(steps):
        for tries in range(MAX_TRIES_PER_STEP):
            session.refresh_from_db(fields=["subproblem_index", "status"])
            if session.subproblem_index != index or session.status == session.Status.DONE:
                break
            if habit == "fast-hints" and index == 0 and tries == 0:
                for _ in range(4):
                    say("hint please", kind="hint_request")
            elif (habit == "hints" and tries == 0) or (tries == 1 and rng.random() < 0.4):
                say("Can I have a hint?", kind="hint_request")
            say(_answer(step, rng, skill if habit != "stuck" else 0.1))
    _backdate(session, rng, days_ago, fast=habit == "fast-hints")


def _answer(step: Subproblem, rng: random.Random, skill: float) -> str:
    """The step's answer with probability ``skill``; else an authored misconception (mostly) or another wrong answer."""
    right = str(step.answer["value"])
    if rng.random() < skill:
        return right
    authored = [str(m["answer"]) for m in step.misconceptions]
    if authored and rng.random() < 0.7:
        return rng.choice(authored)
    if step.answer.get("kind") == "choice":
        others = [c for c in step.answer.get("choices", []) if str(c) != right and str(c) not in authored]
        if others:
            return rng.choice(others)
    if "/" in right:
        top, bottom = right.split("/", 1)
        return f"{bottom}/{top}"
    return rng.choice(["I'm not sure", "10", "half"])


def _backdate(session: TutorSession, rng: random.Random, days_ago: int, *, fast: bool) -> None:
    """Move a finished demo session onto an afternoon ``days_ago`` days back, keeping the order of its messages.

    Messages are 20-90 s apart (a quick hint clicker's hint requests 3-6 s,
    which is what the dashboard's gaming rule looks for); each mastery event
    takes its tutor turn's time, so the drill-down's history lines up.
    """
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(14, 0))) + dt.timedelta(minutes=rng.randint(0, 120))
    start = at
    messages = list(session.messages.order_by("seq"))
    for message in messages:
        hinting = fast and message.kind == Message.Kind.HINT_REQUEST
        if message.role == Message.Role.TUTOR:
            at += dt.timedelta(seconds=rng.randint(1, 3))
        else:
            at += dt.timedelta(seconds=rng.randint(3, 6) if hinting else rng.randint(20, 90))
        message.created_at = at
    Message.objects.bulk_update(messages, ["created_at"])
    for message in messages:
        MasteryEvent.objects.filter(message=message).update(created_at=message.created_at)
    finished = at if session.finished_at else None
    TutorSession.objects.filter(pk=session.pk).update(created_at=start, finished_at=finished)

"""Load the demo curricula, classes and users, then print the logins.

Safe to run on every start: it creates what is missing, imports a demo
curriculum only when its file changed since the last import, and leaves
everything else alone.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from tutor.accounts.models import Classroom, Enrollment, User
from tutor.curricula.importer import curriculum_import, package_sha256
from tutor.curricula.models import Curriculum
from tutor.curricula.package import read_package

DEMO_DIR = Path(__file__).resolve().parents[3] / "curricula" / "demo"
DEMO_USERS = [
    # username, role, first name, last name
    ("alice", User.Role.STUDENT, "Alice", "Adams"),
    ("bob", User.Role.STUDENT, "Bob", "Brown"),
    ("tess", User.Role.TEACHER, "Tess", "Taylor"),
    ("adam", User.Role.ADMIN, "Adam", "Admin"),
]
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
        self.stdout.write(f"\nTutorgraph demo logins (password: {settings.DEMO_PASSWORD})\n")
        for username, role, *_ in DEMO_USERS:
            self.stdout.write(f"  {role:<8} {username}")
        self.stdout.write("")

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

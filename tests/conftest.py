"""Shared fixtures: the personas and the demo curriculum.

- alice, bob: students in tess's class "Grade 5 Maths";
- tess: their teacher;
- adam: an admin;
- mallory: a student in another teacher's (trent's) class, with no class in
  common with alice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DEMO_DIR = Path(__file__).resolve().parent.parent / "tutor" / "curricula" / "demo"
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def fractions(db):
    from tutor.curricula.importer import curriculum_import

    return curriculum_import(json.loads((TEST_DATA / "mini-fractions.json").read_text())).curriculum


@pytest.fixture
def demo_problem(fractions):
    return fractions.problems.get(key="three-quarters-plus-one-eighth")


def _user(username: str, role: str, **extra):
    from tutor.accounts.models import User

    return User.objects.create_user(username=username, password=PASSWORD, role=role, **extra)


@pytest.fixture
def tess(db):
    return _user("tess", "teacher")


@pytest.fixture
def trent(db):
    return _user("trent", "teacher")


@pytest.fixture
def adam(db):
    return _user("adam", "admin", is_staff=True, is_superuser=True)


@pytest.fixture
def tess_class(tess, fractions):
    from tutor.accounts.models import Classroom

    classroom = Classroom.objects.create(name="Grade 5 Maths", teacher=tess, code="MATH5A")
    classroom.curricula.add(fractions)
    return classroom


@pytest.fixture
def trent_class(trent, fractions):
    from tutor.accounts.models import Classroom

    classroom = Classroom.objects.create(name="Grade 5 Blue", teacher=trent, code="BLUE55")
    classroom.curricula.add(fractions)
    return classroom


@pytest.fixture
def alice(tess_class):
    user = _user("alice", "student", first_name="Alice")
    tess_class.students.add(user)
    return user


@pytest.fixture
def bob(tess_class):
    user = _user("bob", "student", first_name="Bob")
    tess_class.students.add(user)
    return user


@pytest.fixture
def mallory(trent_class):
    user = _user("mallory", "student", first_name="Mallory")
    trent_class.students.add(user)
    return user


@pytest.fixture
def alice_session(alice, demo_problem):
    from tutor.dialogue.actions import session_start

    return session_start(student=alice, problem=demo_problem)


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 is slow on purpose; tests hash many passwords and need no strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    """Browser tests run last.

    Playwright's sync API keeps an event loop running in the main thread for
    as long as the session-scoped browser lives; a plain test that opens the
    database after that would be refused as "async context". Running the
    browser tests at the end keeps every other test in a plain thread.
    """
    e2e = Path(__file__).resolve().parent / "e2e"
    items.sort(key=lambda item: e2e in Path(str(item.path)).resolve().parents)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Each test counts its own rate limits: the cache outlives a test, and user ids repeat across tests."""
    import uuid

    settings.RATE_LIMIT_KEY_PREFIX = f"rl-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _work_runs_in_process(settings):
    """Turns and after-commit work run in the test process unless a test asks for Celery.

    With ``REDIS_URL`` set (the distributed CI run) the default executor is
    Celery, and work enqueued without a worker to run it would never happen.
    The tests that exercise the real worker (``test_celery_worker.py`` and
    friends) set ``TURN_EXECUTOR = "celery"`` themselves, which overrides this.
    """
    settings.TURN_EXECUTOR = "inprocess"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Close connections after each use in tests.

    Async tests reach the database from asgiref's worker thread; a persistent
    connection there would outlive the test run and block dropping the test
    database on PostgreSQL.
    """
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0

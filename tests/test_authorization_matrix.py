"""The authorization matrix: every URL and WebSocket route, tried as every persona.

Each row of ``HTTP`` names a URL pattern (by its URL name), how to build its
arguments from the shared fixtures, and the outcome each persona must get:

- ``O`` ok: 2xx, or a redirect to a page other than the login page;
- ``L`` login: a redirect to a login page (``/login/`` or the admin's);
- ``D`` denied: 403 or 404;
- ``R`` refused: denied or 405 (a GET on a POST-only view must never act).

The expectation strings list the personas in ``PERSONAS`` order:
anonymous, alice, bob, tess, trent, adam, mallory (see ``tests/conftest.py``).
``test_every_url_pattern_is_in_the_matrix`` walks the project's URLconf and
the WebSocket routing, so a new URL without a row here fails with its name.

Rows where the product looks wrong are not encoded as correct: they are in
``SUSPECTED_BUGS`` and run as strict xfails until the product is fixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import TEST_DATA

PERSONAS = ("anonymous", "alice", "bob", "tess", "trent", "adam", "mallory")
OUTCOMES = {"O": "ok", "L": "login", "D": "denied", "R": "refused"}
PAGES_FOR_EVERYONE = "O" * 7
LOGGED_IN = "L" + "O" * 6
STUDENTS = "LOODDDO"  # any student with the curriculum in a class (mallory's class uses it too)
TESS_STUDENTS = "LOODDDD"  # a curriculum only tess's class uses: alice and bob, not mallory
ALICE_ONLY = "LODDDDD"  # the student's own objects: only alice
ALICE_AND_ADULTS = "LODODOD"  # alice, her teacher, an admin
CLASS_ADULTS = "LDDODOD"  # tess's class: its teacher and admins
TEACHERS = "LDDOOOD"  # any teacher or admin
ADMINS = "LDDDDOD"


class Ctx:
    """Lazily built objects for one test; each comes from a shared fixture or a small action."""

    def __init__(self, request):
        self.request = request
        self._cache: dict[str, object] = {}

    def fx(self, name: str):
        return self.request.getfixturevalue(name)

    def _memo(self, key: str, build: Callable[[], object]):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    @property
    def upload(self):
        def build():
            from tutor.curricula.models import CurriculumUpload

            return CurriculumUpload.objects.create(
                filename="mini-fractions.json",
                source_format="json",
                package=json.loads((TEST_DATA / "mini-fractions.json").read_text()),
                status=CurriculumUpload.Status.VALID,
            )

        return self._memo("upload", build)

    @property
    def alice_goal(self):
        from tutor.planning.actions import goal_set

        return self._memo(
            "alice_goal",
            lambda: goal_set(
                by=self.fx("alice"), curriculum=self.fx("fractions"), concept="frac.lcd", student=self.fx("alice")
            ),
        )

    @property
    def class_goal(self):
        from tutor.planning.actions import goal_set

        return self._memo(
            "class_goal",
            lambda: goal_set(
                by=self.fx("tess"),
                curriculum=self.fx("fractions"),
                concept="frac.add-unlike",
                classroom=self.fx("tess_class"),
            ),
        )

    @property
    def study(self):
        from tutor.srl.actions import study_session_start

        return self._memo(
            "study", lambda: study_session_start(student=self.fx("alice"), curriculum=self.fx("fractions"))
        )

    @property
    def solo(self):
        """A curriculum that only tess's class uses (mallory's class does not): the planning tests' package."""

        def build():
            from tests.test_planning_fixtures import arithmetic_package
            from tutor.curricula.importer import curriculum_import

            curriculum = curriculum_import(arithmetic_package("solo")).curriculum
            self.fx("tess_class").curricula.add(curriculum)
            return curriculum

        return self._memo("solo", build)

    @property
    def greeting(self):
        return self.fx("alice_session").messages.order_by("seq").first()

    @property
    def subproblem(self):
        return self.fx("demo_problem").subproblems.first()


@dataclass
class Row:
    name: str
    expect: dict[str, str]  # method -> expectation string, one letter per persona
    kwargs: Callable[[Ctx], dict] = lambda ctx: {}
    data: Callable[[Ctx], dict] = lambda ctx: {}
    query: str = ""
    label: str = ""  # a second row for the same URL name, with other arguments
    bugs: dict[tuple[str, str], str] = field(default_factory=dict)  # (method, persona) -> reason


def get(expect: str) -> dict[str, str]:
    return {"GET": expect}


def post_only(expect: str) -> dict[str, str]:
    """A POST-only view: GET is refused to everyone signed in (login for the anonymous), POST as given."""
    return {"GET": "L" + "R" * 6, "POST": expect}


def session(ctx: Ctx) -> dict:
    return {"session_id": ctx.fx("alice_session").pk}


def klass(ctx: Ctx) -> dict:
    return {"class_id": ctx.fx("tess_class").pk}


def curriculum(ctx: Ctx) -> dict:
    return {"curriculum_id": ctx.fx("fractions").pk}


def solo(ctx: Ctx) -> dict:
    return {"curriculum_id": ctx.solo.pk}


def upload(ctx: Ctx) -> dict:
    return {"upload_id": ctx.upload.pk}


def study(ctx: Ctx) -> dict:
    return {"study_id": ctx.study.pk}


def alices_plan(ctx: Ctx) -> dict:
    return {"student_id": ctx.fx("alice").pk, "curriculum_id": ctx.fx("fractions").pk}


HTTP = [
    # --- tutor/urls.py
    Row("home", get(LOGGED_IN)),
    Row("healthz", get(PAGES_FOR_EVERYONE)),
    # --- resilience: readiness (dependencies), next to liveness
    Row("readyz", get(PAGES_FOR_EVERYONE)),
    Row("login", get(PAGES_FOR_EVERYONE)),
    # Django's LogoutView is POST-only; logging out lands on the login page for everyone.
    Row("logout", {"GET": "R" * 7, "POST": "L" * 7}),
    Row("password_change", {"GET": LOGGED_IN, "POST": LOGGED_IN}),
    Row("password_change_done", get(LOGGED_IN)),
    Row("admin:index", get("LLLLLOL")),  # non-staff are sent to the admin's login page
    # --- accounts
    Row("class_join", {"GET": STUDENTS, "POST": STUDENTS}),
    Row("teacher_classes", {"GET": TEACHERS, "POST": TEACHERS}),
    Row("teacher_class_detail", get(CLASS_ADULTS), kwargs=klass),
    Row("roster_upload", post_only(CLASS_ADULTS), kwargs=klass),
    # --- dialogue
    Row("student_home", get(STUDENTS)),
    Row(
        "session_open",
        post_only(TESS_STUDENTS),
        kwargs=lambda ctx: {"problem_id": ctx.solo.problems.first().pk},
        label="[solo]",
    ),
    Row("session_open", post_only(STUDENTS), kwargs=lambda ctx: {"problem_id": ctx.fx("demo_problem").pk}),
    Row("session_page", get(ALICE_AND_ADULTS), kwargs=session),
    Row("session_transcript", get(CLASS_ADULTS), kwargs=session),  # turn labels are for adults only
    Row("session_messages", get(ALICE_AND_ADULTS), kwargs=session),
    # --- curricula
    Row("curriculum_list", get(TEACHERS)),
    Row("curriculum_upload", {"GET": ADMINS, "POST": ADMINS}),
    Row("curriculum_upload_review", get(ADMINS), kwargs=upload),
    Row("curriculum_upload_graph", get(ADMINS), kwargs=upload),
    Row("curriculum_upload_publish", post_only(ADMINS), kwargs=upload),
    Row("curriculum_graph", get(TEACHERS), kwargs=curriculum),
    Row(
        "student_plan",
        get(ALICE_AND_ADULTS),
        kwargs=lambda ctx: {"student_id": ctx.fx("alice").pk, "curriculum_id": ctx.solo.pk},
        label="[solo]",
    ),
    Row("curriculum_graph_data", get(TEACHERS), kwargs=curriculum),
    # --- learners
    Row("learner_progress", get(STUDENTS), kwargs=curriculum),
    Row("learner_progress", get(TESS_STUDENTS), kwargs=solo, label="[solo]"),
    Row("learner_progress_graph", get(STUDENTS), kwargs=curriculum),
    Row("placement_page", get(STUDENTS), kwargs=curriculum),
    Row("placement_page", get(TESS_STUDENTS), kwargs=solo, label="[solo]"),
    Row("placement_start", post_only(TESS_STUDENTS), kwargs=solo, label="[solo]"),
    Row("placement_start", post_only(STUDENTS), kwargs=curriculum),
    Row("placement_answer", post_only(STUDENTS), kwargs=curriculum),
    Row("class_abilities", get(CLASS_ADULTS), kwargs=klass),
    # --- planning
    Row("plan_page", get(STUDENTS), kwargs=curriculum),
    Row("plan_page", get(TESS_STUDENTS), kwargs=solo, label="[solo]"),
    Row("plan_graph", get(TESS_STUDENTS), kwargs=solo, label="[solo]"),
    Row("my_goal_add", post_only(TESS_STUDENTS), kwargs=solo, data=lambda ctx: {"concept": "add"}, label="[solo]"),
    Row("plan_graph", get(STUDENTS), kwargs=curriculum),
    Row("my_goal_add", post_only(STUDENTS), kwargs=curriculum, data=lambda ctx: {"concept": "frac.lcd"}),
    Row(
        "my_goal_remove",
        post_only(ALICE_ONLY),
        kwargs=lambda ctx: {"curriculum_id": ctx.fx("fractions").pk, "goal_id": ctx.alice_goal.pk},
    ),
    Row("class_goals", {"GET": CLASS_ADULTS, "POST": CLASS_ADULTS}, kwargs=klass),
    Row(
        "class_goal_remove",
        post_only(CLASS_ADULTS),
        kwargs=lambda ctx: {"class_id": ctx.fx("tess_class").pk, "goal_id": ctx.class_goal.pk},
    ),
    Row("student_plan", get(ALICE_AND_ADULTS), kwargs=alices_plan),
    Row("student_plan_graph", get(ALICE_AND_ADULTS), kwargs=alices_plan),
    # --- srl
    Row("srl_home", get(STUDENTS)),
    Row("srl_start", post_only(STUDENTS), kwargs=curriculum),
    Row("srl_start", post_only(TESS_STUDENTS), kwargs=solo, label="[solo]"),
    Row("srl_study", get(ALICE_ONLY), kwargs=study),
    Row("srl_finish", post_only(ALICE_ONLY), kwargs=study),
    Row("srl_reflect", post_only(ALICE_ONLY), kwargs=study),
    Row("srl_checkin", post_only(ALICE_ONLY), kwargs=study),
    Row("srl_leaderboard_opt", post_only(TESS_STUDENTS), kwargs=klass, data=lambda ctx: {"opt_in": "0"}),
    Row("srl_panel", get(ALICE_ONLY), kwargs=session),
    Row("srl_class", {"GET": CLASS_ADULTS, "POST": CLASS_ADULTS}, kwargs=klass),
    # --- coaching
    Row("coaching_dashboard", get(CLASS_ADULTS), kwargs=klass),
    Row("coaching_csv", get(CLASS_ADULTS), kwargs=lambda ctx: {**klass(ctx), "table": "mastery"}),
    Row("coaching_misconceptions", get(CLASS_ADULTS), kwargs=klass),
    Row(
        "coaching_misconception_suggest",
        post_only(CLASS_ADULTS),
        kwargs=klass,
        data=lambda ctx: {"subproblem": ctx.subproblem.pk, "answer": "nobody said this"},
    ),
    Row(
        "coaching_student",
        get(CLASS_ADULTS),
        kwargs=lambda ctx: {**klass(ctx), "student_id": ctx.fx("alice").pk},
    ),
    Row("coaching_session", get(CLASS_ADULTS), kwargs=session),
    Row(
        "coaching_turn_flag",
        post_only(CLASS_ADULTS),
        kwargs=session,
        data=lambda ctx: {"message": ctx.greeting.pk, "reason": "matrix"},
    ),
    Row(
        "coaching_transcript",
        {"GET": TEACHERS, "POST": TEACHERS},
        data=lambda ctx: {
            "transcript": SimpleUploadedFile("t.txt", (TEST_DATA / "coaching" / "transcript_sample.txt").read_bytes())
        },
    ),
    # --- security: the audit log browser is for admins only
    Row("audit_log", get(ADMINS)),
    # --- privacy: my data (everyone signed in, their own), and an adult acting for alice (her teacher, admins).
    # The POSTs carry no confirmation, so they are refused with a message and change nothing.
    Row("privacy_home", get(LOGGED_IN)),
    Row("privacy_export", get(LOGGED_IN)),
    Row("privacy_delete", post_only(LOGGED_IN)),
    Row("privacy_cancel", post_only(LOGGED_IN)),
    Row("privacy_user", get(ALICE_AND_ADULTS), kwargs=lambda ctx: {"user_id": ctx.fx("alice").pk}),
    Row("privacy_user_export", get(ALICE_AND_ADULTS), kwargs=lambda ctx: {"user_id": ctx.fx("alice").pk}),
    Row("privacy_user_delete", post_only(ALICE_AND_ADULTS), kwargs=lambda ctx: {"user_id": ctx.fx("alice").pk}),
    Row("privacy_user_cancel", post_only(ALICE_AND_ADULTS), kwargs=lambda ctx: {"user_id": ctx.fx("alice").pk}),
    # --- tutor models: the registry page and promotion to live, admins only (an unknown name: refused, nothing live)
    Row("model_list", get(ADMINS)),
    Row("model_promote", post_only(ADMINS), kwargs=lambda ctx: {"name": "no-such-model"}),
]
ROWS = {f"{row.name}{row.label}": row for row in HTTP}
NAMES = {row.name for row in HTTP}

# Which personas may open the session socket of alice's session (the page's rule: alice, her teacher, admins).
WEBSOCKET = {"ws/sessions/<int:session_id>/": dict(zip(PERSONAS, "NYNYNYN", strict=True))}
WS_BUGS: dict[str, str] = {}


# --- The URLconf walk ----------------------------------------------------------------------------------------


def _walk(patterns, namespace: str = "", prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            if ns == "admin":
                yield "admin:index", prefix + str(entry.pattern)  # the admin's internals are Django's
                continue
            yield from _walk(entry.url_patterns, f"{namespace}{ns}:" if ns else namespace, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            yield (f"{namespace}{entry.name}" if entry.name else route), route


def project_urls() -> dict[str, str]:
    return dict(_walk(get_resolver().url_patterns))


def websocket_routes() -> list[str]:
    from tutor.dialogue.routing import websocket_urlpatterns

    return [str(entry.pattern) for entry in websocket_urlpatterns]


def test_every_url_pattern_is_in_the_matrix():
    urls = project_urls()
    missing = [f"{name} (/{route})" for name, route in urls.items() if name not in NAMES]
    assert not missing, (
        "URL patterns with no row in tests/test_authorization_matrix.py: "
        f"{', '.join(missing)}. Add a Row(...) to HTTP saying who may reach each one."
    )
    stale = sorted(NAMES - set(urls))
    assert not stale, f"rows for URL names that no longer exist: {', '.join(stale)}; remove them from HTTP."


def test_every_websocket_route_is_in_the_matrix():
    missing = [route for route in websocket_routes() if route not in WEBSOCKET]
    assert not missing, (
        f"WebSocket routes with no entry in WEBSOCKET (tests/test_authorization_matrix.py): {', '.join(missing)}. "
        "Add an entry saying which personas may connect."
    )
    stale = sorted(set(WEBSOCKET) - set(websocket_routes()))
    assert not stale, f"WEBSOCKET entries for routes that no longer exist: {', '.join(stale)}"


# --- HTTP ----------------------------------------------------------------------------------------------------


def _cases():
    for row in HTTP:
        for method, expect in row.expect.items():
            assert len(expect) == len(PERSONAS), row.name
            for persona, letter in zip(PERSONAS, expect, strict=True):
                reason = row.bugs.get((method, persona))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                key = f"{row.name}{row.label}"
                yield pytest.param(key, method, persona, letter, id=f"{key}-{method}-{persona}", marks=marks)


def outcome(response) -> str:
    code = response.status_code
    if code == 405:
        return "method"
    if code in (403, 404):
        return "denied"
    if 300 <= code < 400:
        return "login" if urlsplit(response["Location"]).path.endswith("/login/") else "ok"
    if 200 <= code < 300:
        return "ok"
    return f"status {code}"


def _world(request):
    """Every persona and their classes exist in every case, so each sees the same world."""
    for name in ("alice", "bob", "tess", "trent", "adam", "mallory"):
        request.getfixturevalue(name)


@pytest.mark.parametrize(("name", "method", "persona", "letter"), list(_cases()))
def test_http(request, db, name, method, persona, letter):
    _world(request)
    ctx = Ctx(request)
    row = ROWS[name]
    url = reverse(row.name, kwargs=row.kwargs(ctx)) + row.query
    data = row.data(ctx) if method == "POST" else {}
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    response = client.get(url) if method == "GET" else client.post(url, data)
    got = outcome(response)
    wanted = OUTCOMES[letter]
    if wanted == "refused":
        assert got in ("denied", "method"), f"{method} {url} as {persona}: {got} ({response.status_code})"
    else:
        assert got == wanted, f"{method} {url} as {persona}: expected {wanted}, got {got} ({response.status_code})"


# --- WebSocket -----------------------------------------------------------------------------------------------


def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def _ws_cases():
    for route, allowed in WEBSOCKET.items():
        for persona, letter in allowed.items():
            reason = WS_BUGS.get(persona)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(route, persona, letter == "Y", id=f"ws-{persona}", marks=marks)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("route", "persona", "accepted"), list(_ws_cases()))
async def test_websocket(route, persona, accepted, alice, bob, tess, trent, adam, mallory, alice_session):
    from tutor.asgi import application

    users = {"alice": alice, "bob": bob, "tess": tess, "trent": trent, "adam": adam, "mallory": mallory}
    headers = [(b"origin", b"http://testserver")]
    if persona != "anonymous":
        headers.append((b"cookie", await database_sync_to_async(_cookie)(users[persona])))
    path = "/" + route.replace("<int:session_id>", str(alice_session.pk))
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=5)
    try:
        assert connected is accepted, f"{path} as {persona}: connected={connected}"
    finally:
        await comm.disconnect()

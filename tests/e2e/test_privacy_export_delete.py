"""alice downloads all her data and has it deleted, in a real browser; then every table is searched for her.

The issue's "done when": a new user, trying it as alice, exports and deletes
their data in the browser, and the deletion is verified by querying every
table. This test runs its own server (migrated, demo loaded, like
``live_app``) because it deletes alice, whom the other browser tests use. The
cool-off is the default seven days: the test runs the due deletions the way
cron or beat would (``manage.py privacy_deletions_due``), first as of six days
later (nothing happens), then as of eight days later. The final search runs in
a separate process against the server's database: every model Django knows
(``apps.get_models``, many-to-many tables included) is asked for a row whose
user key is alice's id, or whose text or JSON holds her username, her name or
what she typed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, REPO_ROOT, served_app

pytestmark = pytest.mark.e2e

PASSWORD = "tutorgraph-demo"
SECRET = "purple zebra 77"  # what alice types to the tutor: found nowhere after the deletion
NEEDLES = ["alice", "Adams", SECRET]  # username (and first name, case folded), last name, her words

# Run in the server's environment with `manage.py shell -c`: a search of every table, independent of tutor.privacy.
SEARCH = """
import json
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models.functions import Cast

USER_ID, NEEDLES = {user_id}, {needles!r}
User = get_user_model()
found, searched = [], 0
for model in apps.get_models(include_auto_created=True):
    searched += 1
    manager = model._default_manager
    for field in [*model._meta.fields, *model._meta.many_to_many]:
        if field.is_relation and field.related_model is User and manager.filter(**{{field.name: USER_ID}}).exists():
            found.append(f"{{model._meta.label}}.{{field.name}} = {{USER_ID}}")
    for field in model._meta.concrete_fields:
        if isinstance(field, (models.CharField, models.TextField, models.JSONField)):
            as_text = manager.annotate(_t=Cast(field.name, models.TextField()))
            for needle in NEEDLES:
                if as_text.filter(_t__icontains=needle).exists():
                    found.append(f"{{model._meta.label}}.{{field.name}} contains {{needle!r}}")
if User.objects.filter(pk=USER_ID).exists():
    found.append(f"{{User._meta.label}} row {{USER_ID}}")
if any(s.get_decoded().get("_auth_user_id") == str(USER_ID) for s in Session.objects.all()):
    found.append("a sign-in session of the user")
print("SEARCH " + json.dumps({{"models": searched, "found": found}}))
"""


@pytest.fixture(scope="module")
def app():
    """A server of its own: ``(base_url, env)``, env being what ``manage.py`` needs to reach its database."""
    env = {"TUTOR_TEXT_SIMILARITY": "lexical", "TUTOR_WARM_UP": "0"}  # no model load: this test is about data
    with served_app("privacy", env, drop=("PRIVACY_DELETION_COOL_OFF_DAYS",)) as started:
        yield started


@pytest.fixture
def alice_page(browser, app):
    context = browser.new_context(base_url=app[0], accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stderr[-3000:]}"
    return result.stdout


def search(env: dict[str, str], user_id: int) -> dict:
    out = manage(env, "shell", "-c", SEARCH.format(user_id=user_id, needles=NEEDLES))
    return json.loads(out.split("SEARCH ", 1)[1])


def log_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_alice_exports_and_deletes_her_data_and_no_table_keeps_it(alice_page: Page, app) -> None:
    page, env = alice_page, app[1]
    log_in(page, "alice")
    expect(page).to_have_url(re.compile(r"/learn/$"))

    # She talks to the tutor, so there is a transcript to export and delete.
    page.get_by_role("button", name="One slice of pizza", exact=True).click()
    expect(page.locator("#connection")).to_have_text("Connected")
    box = page.get_by_label("Your answer or question")
    box.fill(SECRET)
    box.press("Enter")
    expect(page.locator("#chat-log li.msg-student[data-seq]").last.locator(".body")).to_have_text(SECRET)
    expect(page.locator("#chat-log li.msg-tutor[data-seq]")).to_have_count(2)  # the greeting and the reply

    # My data: the link on her home page, then the ZIP.
    page.goto("/learn/")
    page.get_by_role("link", name="My data: download everything, or ask for it to be deleted").click()
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data (ZIP)").click()
    assert re.fullmatch(r"tutorgraph-data-alice-\d{8}\.zip", download.value.suggested_filename)
    with zipfile.ZipFile(download.value.path()) as archive:
        files = {name: archive.read(name).decode() for name in archive.namelist()}
    assert "README.txt" in files and "User:        alice" in files["README.txt"]
    tables = sorted(n[5:-5] for n in files if n.startswith("json/"))
    assert tables == sorted(n[4:-4] for n in files if n.startswith("csv/"))  # a CSV for every JSON
    user = json.loads(files["json/accounts_user.json"])[0]
    assert (user["username"], user["first_name"], user["last_name"]) == ("alice", "Alice", "Adams")
    assert "password" not in user
    typed = [m["text"] for m in json.loads(files["json/dialogue_message.json"]) if m["role"] == "student"]
    assert typed == [SECRET]
    csv_rows = list(csv.DictReader(io.StringIO(files["csv/dialogue_message.csv"])))
    assert [r["text"] for r in csv_rows if r["role"] == "student"] == [SECRET]
    assert json.loads(files["json/accounts_enrollment.json"])  # her classes
    alice_id = user["id"]

    # The search finds her before the deletion (so it can find her after).
    before = search(env, alice_id)
    assert f"accounts.User row {alice_id}" in before["found"]
    assert f"dialogue.Message.text contains {SECRET!r}" in before["found"]

    # She requests deletion: a typed confirmation, then the cool-off's end date is shown.
    page.get_by_label("To confirm, type the username").fill("alice")
    page.get_by_role("button", name="Request deletion of my data").click()
    expect(page.locator("#privacy-pending")).to_contain_text("will be deleted on")
    due = datetime.strptime(page.locator("#privacy-due").inner_text(), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert timedelta(days=6, hours=23) < due - datetime.now(UTC) <= timedelta(days=7)

    # Six days later nothing has happened; eight days later the deletion runs.
    now = datetime.now(UTC)
    assert "0 deletion request(s) done" in manage(
        env, "privacy_deletions_due", "--now", (now + timedelta(6)).isoformat()
    )
    assert f"accounts.User row {alice_id}" in search(env, alice_id)["found"]
    out = manage(env, "privacy_deletions_due", "--now", (now + timedelta(days=8)).isoformat())
    assert "1 deletion request(s) done" in out

    # Her browser session is gone, and she cannot sign in again.
    page.goto("/privacy/")
    expect(page).to_have_url(re.compile(r"/login/"))
    log_in(page, "alice")
    expect(page).to_have_url(re.compile(r"/login/"))

    # Every table: no row keyed to her id, no text with her name or her words.
    after = search(env, alice_id)
    assert after["models"] > 40
    assert after["found"] == []

"""The privacy actions: the export ZIP, deletion requests with a cool-off, cancel, the run, retention purge."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone

from tutor.audit.models import AuditEvent
from tutor.dialogue.actions import session_start, student_message_post
from tutor.dialogue.models import Message, TutorSession
from tutor.privacy import actions, providers
from tutor.privacy.models import DeletionRequest
from tutor.privacy.tasks import privacy_deletions_due, transcripts_purge


@pytest.fixture
def typed(alice, demo_problem, django_capture_on_commit_callbacks):
    """alice's session with two messages she typed (no tutor turn needed for these tests)."""
    with django_capture_on_commit_callbacks(execute=False):
        session = session_start(student=alice, problem=demo_problem)
        student_message_post(session=session, client_id="a-1", text='=HYPERLINK("http://x")')
        student_message_post(session=session, client_id="a-2", text="I think it is 7/8, héhé")
    return session


def unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_export_is_a_zip_with_a_readme_and_json_and_csv_per_table(alice, typed):
    files = unzip(actions.data_export(actor=alice, subject=alice))
    assert "README.txt" in files and "User:        alice" in files["README.txt"]
    tables = {name.removeprefix("json/").removesuffix(".json") for name in files if name.startswith("json/")}
    assert tables == {name.removeprefix("csv/").removesuffix(".csv") for name in files if name.startswith("csv/")}
    assert {"accounts_user", "accounts_enrollment", "dialogue_tutorsession", "dialogue_message"} <= tables
    messages = json.loads(files["json/dialogue_message.json"])
    assert [m["text"] for m in messages if m["role"] == "student"] == [
        '=HYPERLINK("http://x")',
        "I think it is 7/8, héhé",
    ]
    assert f"  dialogue_message: {len(messages)}" in files["README.txt"]
    user = json.loads(files["json/accounts_user.json"])
    assert user[0]["username"] == "alice" and "password" not in user[0]


def test_export_csv_keeps_a_typed_formula_as_text(alice, typed):
    files = unzip(actions.data_export(actor=alice, subject=alice))
    table = list(csv.DictReader(io.StringIO(files["csv/dialogue_message.csv"])))
    texts = [row["text"] for row in table if row["role"] == "student"]
    assert texts == ['\'=HYPERLINK("http://x")', "I think it is 7/8, héhé"]
    greeting = next(row for row in table if row["role"] == "tutor")
    assert set(json.loads(greeting["record"])) <= {"evaluation", "action", "subproblem_state", "move"}  # JSON text


def test_export_is_audited_with_counts_only(alice, tess, typed):
    actions.data_export(actor=tess, subject=alice)
    event = AuditEvent.objects.get(action="export")
    assert (event.actor, event.subject, event.object_type) == (tess, alice, "privacy_export")
    assert event.detail["rows"] > 0 and "héhé" not in json.dumps(event.detail)


def test_a_teacher_of_another_class_cannot_export_or_request(alice, trent, mallory):
    with pytest.raises(PermissionDenied):
        actions.data_export(actor=trent, subject=alice)
    with pytest.raises(PermissionDenied):
        actions.deletion_request(actor=trent, subject=alice)
    assert not DeletionRequest.objects.exists() and not AuditEvent.objects.filter(action="export").exists()


def test_a_request_waits_the_cool_off_and_asking_again_returns_it(alice, settings):
    settings.PRIVACY_DELETION_COOL_OFF_DAYS = 7
    before = timezone.now()
    deletion = actions.deletion_request(actor=alice, subject=alice)
    assert deletion.status == "pending" and deletion.username == "alice" and deletion.requested_by == alice
    assert timedelta(days=7) <= deletion.due_at - before < timedelta(days=7, minutes=1)
    assert actions.deletion_request(actor=alice, subject=alice) == deletion
    assert DeletionRequest.objects.count() == 1
    assert AuditEvent.objects.get(action="delete_request").object_id == str(deletion.pk)


def test_nothing_is_deleted_before_the_request_is_due(alice, typed):
    deletion = actions.deletion_request(actor=alice, subject=alice)
    ran = actions.deletion_run(deletion.pk, now=deletion.due_at - timedelta(seconds=1))
    assert ran.status == "pending" and ran.attempts == 0
    assert TutorSession.objects.filter(student=alice).exists()
    assert actions.deletions_due_run(now=deletion.due_at - timedelta(hours=1)) == []


def test_a_cancelled_request_never_runs(alice, tess, typed):
    deletion = actions.deletion_request(actor=alice, subject=alice)
    cancelled = actions.deletion_cancel(actor=tess, deletion=deletion)
    assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", tess)
    assert actions.deletion_run(deletion.pk, now=deletion.due_at + timedelta(days=1)).status == "cancelled"
    assert TutorSession.objects.filter(student=alice).exists()
    with pytest.raises(actions.PrivacyError, match="cancelled, not pending"):
        actions.deletion_cancel(actor=alice, deletion=deletion)
    assert AuditEvent.objects.filter(action="delete_cancel", actor=tess, subject=alice).count() == 1


def test_a_run_is_rerunnable_and_counts_once(alice, typed):
    deletion = actions.deletion_request(actor=alice, subject=alice)
    first = actions.deletion_run(deletion.pk, now=deletion.due_at)
    again = actions.deletion_run(deletion.pk, now=deletion.due_at + timedelta(days=1))
    assert first.status == again.status == "done" and again.attempts == 1
    assert again.counts == first.counts and first.counts["dialogue_message"] == 3  # greeting + 2 typed
    assert AuditEvent.objects.filter(action="delete_done").count() == 1
    with pytest.raises(actions.PrivacyError, match="already run"):
        actions.deletion_cancel(actor=alice, deletion=again)


class _Failing(providers.PrivacyProvider):
    order = 60

    def export(self, user):
        return {}

    def delete(self, user, *, pseudonym):
        raise RuntimeError("disk on fire")


def test_a_failed_run_rolls_back_whole_and_the_next_run_finishes(alice, typed, monkeypatch):
    deletion = actions.deletion_request(actor=alice, subject=alice)
    monkeypatch.setitem(providers._registry, "failing", _Failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        actions.deletion_run(deletion.pk, now=deletion.due_at)
    deletion.refresh_from_db()
    assert (deletion.status, deletion.attempts, deletion.last_error) == ("pending", 1, "RuntimeError: disk on fire")
    assert Message.objects.filter(session__student=alice).count() == 3  # the earlier providers' deletes rolled back
    monkeypatch.delitem(providers._registry, "failing")
    assert actions.deletions_due_run(now=deletion.due_at) == [deletion.pk]
    deletion.refresh_from_db()
    assert (deletion.status, deletion.attempts, deletion.last_error) == ("done", 2, "")


def test_the_beat_task_runs_due_requests_only(alice, bob, settings):
    settings.PRIVACY_DELETION_COOL_OFF_DAYS = 0
    due = actions.deletion_request(actor=alice, subject=alice)
    settings.PRIVACY_DELETION_COOL_OFF_DAYS = 7
    later = actions.deletion_request(actor=bob, subject=bob)
    assert privacy_deletions_due() == [due.pk]
    assert DeletionRequest.objects.get(pk=later.pk).status == "pending"


def test_the_command_runs_as_of_a_given_time(alice, capsys):
    deletion = actions.deletion_request(actor=alice, subject=alice)
    call_command("privacy_deletions_due", "--now", timezone.now().isoformat())
    assert "0 deletion request(s) done" in capsys.readouterr().out
    call_command("privacy_deletions_due", "--now", (deletion.due_at + timedelta(minutes=1)).isoformat())
    assert f"deletion request {deletion.pk} done" in capsys.readouterr().out


def _age(session: TutorSession, days: int) -> None:
    then = timezone.now() - timedelta(days=days)
    TutorSession.objects.filter(pk=session.pk).update(created_at=then)
    Message.objects.filter(session=session).update(created_at=then)


def test_transcripts_past_retention_are_purged_and_recent_ones_stay(alice, bob, demo_problem, typed, settings):
    settings.PRIVACY_TRANSCRIPT_RETENTION_DAYS = 30
    recent = session_start(student=bob, problem=demo_problem)
    _age(typed, 31)
    counts = transcripts_purge()
    assert counts == {"dialogue_tutorsession": 1, "dialogue_message": 3}
    assert not TutorSession.objects.filter(pk=typed.pk).exists() and TutorSession.objects.filter(pk=recent.pk).exists()
    assert transcripts_purge() == {}  # rerun: nothing more
    events = AuditEvent.objects.filter(action="retention_purge").order_by("pk")
    assert events[0].detail["dialogue_message"] == 3 and events[0].detail["retention_days"] == 30


def test_a_session_with_a_recent_message_is_kept_whole(alice, typed, settings, django_capture_on_commit_callbacks):
    settings.PRIVACY_TRANSCRIPT_RETENTION_DAYS = 30
    _age(typed, 40)
    with django_capture_on_commit_callbacks(execute=False):
        student_message_post(session=typed, client_id="a-3", text="back after a while")
    assert actions.transcripts_purge() == {}
    assert typed.messages.count() == 4


def test_retention_zero_keeps_everything(alice, typed, settings):
    settings.PRIVACY_TRANSCRIPT_RETENTION_DAYS = 0
    _age(typed, 3650)
    assert actions.transcripts_purge() == {}
    assert TutorSession.objects.filter(pk=typed.pk).exists()


def test_beat_schedules_and_routes_the_privacy_tasks(settings):
    tasks = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks["tutor.privacy.tasks.privacy_deletions_due"]["options"]["queue"] == "agents"
    assert tasks["tutor.privacy.tasks.transcripts_purge"]["options"]["queue"] == "agents"
    assert settings.CELERY_TASK_ROUTES["tutor.privacy.tasks.*"] == {"queue": "agents"}

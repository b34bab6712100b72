"""Every model that points at a user is covered by a privacy provider, and the providers really export and delete.

The meta-test walks ``django.apps.apps.get_models()``: a model with a foreign
key (or many-to-many) to the user model that no provider declares fails with
its name, so a new app cannot store personal data that escapes export and
deletion. The behaviour tests give alice data in every app through the real
actions (a tutored turn, a placement answer, goals, a plan, a study session,
coaching aggregates, a teacher's flag and suggestion, audit events, a sign-in
session, an admin log entry), then check the export holds every row linked
to her and that, after the deletion ran, no table holds a row linked to her
or her words.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models.functions import Cast
from django.test import Client

from tests.irt_items import add_items
from tutor.privacy import actions
from tutor.privacy.models import DeletionRequest
from tutor.privacy.providers import covered_fields

# What alice types in the tutor: a wrong answer nobody else gives, to find her words anywhere.
SECRET = "purple zebra 77"


def user_fields(model) -> list[str]:
    """The forward fields of ``model`` that point at the user model (FK, one-to-one, many-to-many)."""
    user_model = get_user_model()
    return [
        f.name
        for f in [*model._meta.fields, *model._meta.many_to_many]
        if f.is_relation and f.related_model is user_model
    ]


def test_every_model_with_a_user_key_is_covered_by_a_provider():
    covered = covered_fields()
    missing = []
    for model in apps.get_models(include_auto_created=True):
        fields = user_fields(model)
        undeclared = [f for f in fields if f not in covered.get(model._meta.label, set())]
        if undeclared:
            missing.append(f"{model._meta.label} ({', '.join(undeclared)})")
    assert not missing, (
        "models with a foreign key to the user that no privacy provider covers: "
        f"{'; '.join(missing)}. Add them to the `models` of a provider in tutor/<app>/privacy.py (docs/privacy.md)."
    )
    assert get_user_model()._meta.label in covered


def test_every_declared_model_and_field_exists():
    user_model = get_user_model()
    for label, fields in covered_fields().items():
        model = apps.get_model(label)  # LookupError names a stale label
        for name in fields:
            field = model._meta.get_field(name)
            assert field.related_model is user_model, f"{label}.{name} does not point at the user model"


# --- alice everywhere ---------------------------------------------------------------------------------------


def alice_everywhere(*, alice, tess, adam, tess_class, fractions, demo_problem) -> dict:
    """Give alice rows in every app through the real actions; returns a few of them."""
    from tutor.audit.actions import audit_record
    from tutor.coaching.actions import coaching_aggregates_refresh, misconception_suggestion_create, turn_flag_create
    from tutor.dialogue.actions import session_start, student_message_post, turn_run
    from tutor.dialogue.models import Message
    from tutor.learners.actions import placement_answer, placement_start
    from tutor.planning.actions import goal_set, next_problem_choose
    from tutor.srl.actions import class_game_set, leaderboard_opt_set, study_session_start

    session = session_start(student=alice, problem=demo_problem)
    replies = []
    for n, text in enumerate((SECRET, "12")):
        posted = student_message_post(session=session, client_id=f"privacy-{n}", text=text)
        if not Message.objects.filter(reply_to=posted.message).exists():
            turn_run(posted.message.pk)
        replies.append(Message.objects.get(reply_to=posted.message))
    add_items(fractions)
    test = placement_start(student=alice, curriculum=fractions)
    placement_answer(test=test, item_id=test.current_item_id, text="1")
    goal_set(by=alice, curriculum=fractions, concept="frac.lcd", student=alice)
    class_goal = goal_set(by=tess, curriculum=fractions, concept="frac.add-unlike", classroom=tess_class)
    next_problem_choose(alice, fractions)
    study_session_start(student=alice, curriculum=fractions)
    leaderboard_opt_set(student=alice, classroom=tess_class, opt_in=True)
    class_game_set(by=tess, classroom=tess_class, game_on=True)
    coaching_aggregates_refresh(student_id=alice.pk, curriculum_slug=fractions.slug)
    flag = turn_flag_create(message=replies[0], by=tess, reason="too terse for a first mistake")
    suggestion = misconception_suggestion_create(
        subproblem=demo_problem.subproblems.first(),
        answer="seven twelfths",
        examples=["seven twelfths", SECRET.upper(), "7 over 12"],
        students=3,
        by=tess,
    )
    audit_record(action="view", actor=tess, subject=alice, object_type="user", object_id=alice.pk)
    LogEntry.objects.create(
        user=adam,
        content_type=ContentType.objects.get_for_model(alice),
        object_id=str(alice.pk),
        object_repr=str(alice),
        action_flag=CHANGE,
        change_message="[]",
    )
    Client().force_login(alice)  # a sign-in session row
    actions.data_export(actor=alice, subject=alice)
    deletion = actions.deletion_request(actor=alice, subject=alice)
    return {"session": session, "flag": flag, "suggestion": suggestion, "class_goal": class_goal, "deletion": deletion}


@pytest.fixture
def world(alice, bob, tess, adam, tess_class, fractions, demo_problem, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        made = alice_everywhere(
            alice=alice, tess=tess, adam=adam, tess_class=tess_class, fractions=fractions, demo_problem=demo_problem
        )
        from tutor.dialogue.actions import session_start, student_message_post

        bob_session = session_start(student=bob, problem=demo_problem)
        student_message_post(session=bob_session, client_id="bob-1", text="bob says 7/8")
    return {**made, "bob_session": bob_session}


def linked_rows(user_id: int) -> dict[str, set]:
    """``{label: pks}`` of every row, in every model, with a user field equal to ``user_id``."""
    out: dict[str, set] = {}
    for model in apps.get_models(include_auto_created=True):
        for name in user_fields(model):
            pks = set(model._default_manager.filter(**{name: user_id}).values_list("pk", flat=True))
            if pks:
                out.setdefault(model._meta.label, set()).update(pks)
    return out


TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def rows_containing(needle: str) -> list[str]:
    """``label.field`` of every text or JSON column, in every model, with ``needle`` in some row (case folded)."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            if not isinstance(field, TEXT_FIELDS):
                continue
            qs = model._default_manager.annotate(_as_text=Cast(field.name, models.TextField()))
            if qs.filter(_as_text__icontains=needle).exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


def test_the_export_holds_every_row_linked_to_the_user(world, alice):
    tables = actions.export_tables(alice)
    for label, pks in linked_rows(alice.pk).items():
        model = apps.get_model(label)
        if model._meta.auto_created:
            continue  # a many-to-many's through row: exported on its owner (the user's groups)
        exported = {row.get("id") for row in tables.get(model._meta.db_table, [])}
        assert pks <= exported, f"{label}: rows {sorted(pks - exported)} are linked to alice but not exported"
    messages = tables["dialogue_message"]
    assert any(row["text"] == SECRET for row in messages)
    assert all(set(row["record"]) <= {"evaluation", "action", "subproblem_state", "move"} for row in messages)
    assert "password" not in tables["accounts_user"][0]
    assert len(tables["django_session"]) == 1 and "session_key" not in tables["django_session"][0]


def test_after_the_deletion_no_table_holds_the_user_or_her_words(world, alice, bob, tess, tess_class):
    alice_id = alice.pk
    assert rows_containing(SECRET) and rows_containing("alice")  # the check can see her before
    deletion = world["deletion"]
    done = actions.deletion_run(deletion.pk, now=deletion.due_at + timedelta(seconds=1))

    assert done.status == DeletionRequest.Status.DONE and done.user is None
    assert linked_rows(alice_id) == {}
    assert rows_containing(SECRET) == []
    assert rows_containing("alice") == []
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(alice_id)]
    assert done.username == f"deleted-user-{done.pk}" and done.counts["dialogue_message"] >= 4
    # Others' data stays: bob, the class, tess's class goal and her flag's reason (anonymised where it named alice).
    assert world["bob_session"].messages.filter(text="bob says 7/8").exists()
    assert tess_class.students.filter(pk=bob.pk).exists()
    world["class_goal"].refresh_from_db()
    assert world["class_goal"].set_by == tess
    world["suggestion"].refresh_from_db()
    assert world["suggestion"].examples == ["seven twelfths", "7 over 12"] and world["suggestion"].students == 2


def test_the_audit_log_keeps_the_events_under_a_pseudonym(world, alice):
    from tutor.audit.models import AuditEvent

    before = AuditEvent.objects.count()
    deletion = world["deletion"]
    actions.deletion_run(deletion.pk, now=deletion.due_at)
    pseudonym = f"deleted-user-{deletion.pk}"
    assert AuditEvent.objects.count() == before + 1  # kept, plus the deletion's own event
    mine = AuditEvent.objects.filter(subject_name=pseudonym)
    assert set(mine.values_list("action", flat=True)) == {"view", "export", "delete_request"}
    assert not mine.exclude(subject=None).exists()
    done = AuditEvent.objects.get(action="delete_done")
    assert done.detail["pseudonym"] == pseudonym and done.subject is None and done.actor is None


def test_a_teacher_who_still_has_a_class_is_anonymised_not_deleted(world, tess, tess_class):
    deletion = actions.deletion_request(actor=tess, subject=tess)
    done = actions.deletion_run(deletion.pk, now=deletion.due_at)
    tess.refresh_from_db()
    assert tess.username == done.username == f"deleted-user-{done.pk}"
    assert not tess.is_active and not tess.has_usable_password() and tess.email == tess.first_name == ""
    assert done.counts["accounts_user (anonymised)"] == 1
    tess_class.refresh_from_db()
    assert tess_class.teacher_id == tess.pk  # the class is the school's: it keeps an owner to reassign
    world["flag"].refresh_from_db()
    assert world["flag"].flagged_by is None and world["flag"].reason == "too terse for a first mistake"
    world["class_goal"].refresh_from_db()
    assert world["class_goal"].set_by is None
    assert not Client().login(username="tess", password="correct-horse-battery")


def test_every_provider_delete_is_idempotent(world, alice):
    first = actions.user_data_delete(alice, pseudonym="deleted-user-x")
    assert first["dialogue_tutorsession"] == 1 and first["learners_itemresponse"] == 1
    assert not get_user_model().objects.filter(pk=alice.pk).exists()
    # The user row is gone; every provider run again on the stale object finds nothing more.
    assert actions.user_data_delete(alice, pseudonym="deleted-user-x") == {}


def test_an_admin_who_published_a_curriculum_is_deleted_and_the_curriculum_stays(adam, alice, tess):
    from tests.conftest import TEST_DATA
    from tutor.curricula.actions import curriculum_upload_check, curriculum_upload_publish

    data = (TEST_DATA / "mini-fractions.json").read_bytes()
    upload = curriculum_upload_check(user=adam, data=data, filename="mini-fractions.json")
    curriculum = curriculum_upload_publish(upload=upload, user=adam)
    LogEntry.objects.create(
        user=adam,
        content_type=ContentType.objects.get_for_model(alice),
        object_id=str(alice.pk),
        object_repr="alice",
        action_flag=CHANGE,
    )
    exported = actions.export_tables(adam)
    assert [r["id"] for r in exported["curricula_curriculum"]] == [curriculum.pk]
    assert [r["filename"] for r in exported["curricula_curriculumupload"]] == ["mini-fractions.json"]
    assert len(exported["django_admin_log"]) == 1

    deletion = actions.deletion_request(actor=adam, subject=adam)
    done = actions.deletion_run(deletion.pk, now=deletion.due_at)
    assert done.counts["curricula_curriculum (anonymised)"] == 1 and done.counts["django_admin_log"] == 1
    curriculum.refresh_from_db()
    upload.refresh_from_db()
    assert curriculum.imported_by is None and upload.uploaded_by is None and upload.curriculum == curriculum
    assert not get_user_model().objects.filter(username="adam").exists() and linked_rows(adam.pk) == {}

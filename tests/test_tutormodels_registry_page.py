"""The model registry page ``/models/``: admins list every model and promote one to live; new sessions use it."""

from __future__ import annotations

import json
import shutil

import pytest
from django.conf import settings as django_settings

from tests.conftest import login
from tutor.audit.models import AuditEvent
from tutor.dialogue.actions import session_start
from tutor.tutormodels import catalog
from tutor.tutormodels.live import live_model_dirs, live_name
from tutor.tutormodels.models import ModelPromotion

URL = "/models/"
SHIPPED = "tutor-smollm2-lora-v1"
LOCAL = "local-copy"


@pytest.fixture
def registry(settings, tmp_path):
    """A trained registry holding a copy of the shipped adapter under another name (the shipped dir as is)."""
    settings.MODEL_REGISTRY_DIR = tmp_path / "registry"
    source = django_settings.BASE_DIR / "models" / "registry" / SHIPPED
    target = settings.MODEL_REGISTRY_DIR / LOCAL
    shutil.copytree(source, target)
    card = json.loads((target / "model_card.json").read_text())
    (target / "model_card.json").write_text(json.dumps(card | {"name": LOCAL}))
    (target / "eval_report.json").unlink()
    return settings.MODEL_REGISTRY_DIR


def _promote(client, name: str):
    return client.post(f"/models/{name}/promote/")


def test_admin_sees_shipped_and_trained_models_with_cards_and_metrics(client, adam, registry):
    response = login(client, adam).get(URL)
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.context["rows"]}
    assert set(rows) >= {SHIPPED, LOCAL}
    shipped, local = rows[SHIPPED], rows[LOCAL]
    assert shipped["shipped"] and not local["shipped"]
    card = catalog.find(SHIPPED).card
    assert shipped["dataset_hash"] == card["dataset"]["hash"] and shipped["wall_time_s"] == card["wall_time_s"]
    assert ("r", card["hyperparameters"]["r"]) in shipped["hyperparameters"]
    assert [e["system"] for e in shipped["evaluation"]] == ["finetuned", "base", "scripted"]
    assert local["evaluation"] == []
    body = response.content.decode()
    assert card["dataset"]["hash"] in body and "Not evaluated yet" in body
    assert f'action="/models/{LOCAL}/promote/"' in body and "csrfmiddlewaretoken" in body
    assert "<script" not in body.split("<main", 1)[-1] and " onclick=" not in body


def test_admin_promotes_a_model_to_live_with_an_audit_event(client, adam, registry):
    response = _promote(login(client, adam), LOCAL)
    assert response.status_code == 302 and response.url == URL
    assert live_name() == LOCAL
    promotion = ModelPromotion.objects.get()
    assert promotion.promoted_by == adam
    event = AuditEvent.objects.get(action="model_promote")
    assert (event.actor, event.object_type, event.object_id) == (adam, "model", LOCAL)
    page = client.get(URL)
    assert page.context["live"] == LOCAL and "is live" in page.content.decode()


def test_the_newest_promotion_is_live_and_history_is_kept(client, adam, registry):
    login(client, adam)
    _promote(client, LOCAL)
    _promote(client, SHIPPED)
    assert live_name() == SHIPPED
    assert list(ModelPromotion.objects.values_list("model_name", flat=True)) == [SHIPPED, LOCAL]
    name, base, adapter = live_model_dirs()
    assert name == SHIPPED and adapter == django_settings.SHIPPED_MODELS_DIR / SHIPPED / "adapter"
    assert base.name == "smollm2-135m-instruct"


def test_an_unknown_model_is_refused_and_nothing_changes(client, adam, registry):
    response = _promote(login(client, adam), "ghost")
    assert response.status_code == 302
    assert live_name() is None and not AuditEvent.objects.filter(action="model_promote").exists()
    assert "no model &#x27;ghost&#x27;" in client.get(URL).content.decode()  # the message, HTML-escaped


def test_a_model_without_its_adapter_weights_cannot_go_live(client, adam, registry):
    (registry / LOCAL / "adapter" / "adapter_model.safetensors").unlink()
    _promote(login(client, adam), LOCAL)
    assert live_name() is None
    assert "cannot be loaded here" in client.get(URL).content.decode()


@pytest.mark.parametrize("persona", ["tess", "alice", "mallory"])
def test_only_admins_may_see_or_promote(client, request, registry, persona):
    login(client, request.getfixturevalue(persona))
    assert client.get(URL).status_code in (403, 404)
    assert _promote(client, LOCAL).status_code in (403, 404)
    assert not ModelPromotion.objects.exists()


def test_anonymous_is_sent_to_log_in_and_promotes_nothing(client, db, registry):
    assert client.get(URL).url.startswith("/login/")
    assert _promote(client, LOCAL).url.startswith("/login/")
    assert not ModelPromotion.objects.exists()


def test_a_get_never_promotes(client, adam, registry):
    assert login(client, adam).get(f"/models/{LOCAL}/promote/").status_code == 405
    assert not ModelPromotion.objects.exists()


def test_new_sessions_use_the_new_live_model_and_running_ones_keep_theirs(
    client, adam, alice, fractions, demo_problem, registry
):
    login(client, adam)
    before = session_start(student=alice, problem=demo_problem)
    assert before.tutor_model == "" and live_model_dirs(before.pk) is None
    _promote(client, LOCAL)
    first = session_start(student=alice, problem=fractions.problems.exclude(pk=demo_problem.pk).first())
    _promote(client, SHIPPED)
    second = session_start(student=alice, problem=fractions.problems.exclude(pk=demo_problem.pk).last())
    assert first.pk != second.pk
    assert live_model_dirs(first.pk)[0] == LOCAL and live_model_dirs(second.pk)[0] == SHIPPED
    assert live_model_dirs(before.pk) is None and live_model_dirs()[0] == SHIPPED
    # Resuming the running session on the same problem keeps its model.
    assert session_start(student=alice, problem=demo_problem).tutor_model == ""


def test_load_demo_makes_the_shipped_model_live_only_when_none_is(client, adam, registry):
    from tutor.accounts.management.commands.load_demo import Command

    Command()._tutor_model()
    assert live_name() == SHIPPED
    assert AuditEvent.objects.get(action="model_promote").actor is None  # the system chose it
    _promote(login(client, adam), LOCAL)
    Command()._tutor_model()
    assert live_name() == LOCAL and ModelPromotion.objects.count() == 2

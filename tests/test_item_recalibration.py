"""Periodic recalibration: a new, versioned set of item parameters only when the responses changed."""

import numpy as np
import pytest
from django.conf import settings

from models.irt import ItemParams, eap
from tests.irt_items import add_items, simulate_correct
from tutor.accounts.models import User
from tutor.learners.actions import item_response_record
from tutor.learners.models import Ability, ItemCalibration, ItemResponse
from tutor.learners.tasks import recalibrate_items


@pytest.fixture
def bank(fractions):
    return add_items(fractions, n=12, a=1.3)


def simulate(bank, n_students: int, seed: int, prefix: str = "sim") -> list[User]:
    """``n_students`` simulated students who each answered every item of ``bank`` once (stored responses)."""
    rng = np.random.default_rng(seed)
    students = User.objects.bulk_create(
        [User(username=f"{prefix}{i}", role=User.Role.STUDENT) for i in range(n_students)]
    )
    ItemResponse.objects.bulk_create(
        ItemResponse(student=s, curriculum=item.curriculum, item=item, correct=bool(ok), source="practice")
        for s in students
        for item, ok in zip(bank, simulate_correct(bank, float(rng.normal()), rng), strict=True)
    )
    return students


def test_recalibration_stores_a_version_with_parameters_and_standard_errors(bank):
    simulate(bank, 80, seed=1)
    assert recalibrate_items() == 1
    calibration = ItemCalibration.objects.get(curriculum=bank[0].curriculum)
    assert (calibration.version, calibration.model, calibration.responses, calibration.persons) == (1, "2pl", 960, 80)
    assert set(calibration.params) == {item.key for item in bank}  # item.lcd.1 was never answered: left out
    fitted = calibration.params["bank.11"]
    assert set(fitted) == {"a", "b", "c", "se_a", "se_b"}
    assert fitted["b"] > calibration.params["bank.0"]["b"] and fitted["se_b"] > 0
    assert len(calibration.responses_hash) == 64


def test_a_rerun_on_the_same_responses_stores_nothing(bank):
    simulate(bank, 80, seed=1)
    assert recalibrate_items() == 1
    assert recalibrate_items() == 0
    assert recalibrate_items(curriculum_id=bank[0].curriculum_id) == 0
    assert ItemCalibration.objects.count() == 1


def test_new_responses_store_the_next_version(bank):
    simulate(bank, 80, seed=1)
    recalibrate_items()
    simulate(bank, 20, seed=2, prefix="late")
    assert recalibrate_items() == 1
    assert list(ItemCalibration.objects.values_list("version", "responses")) == [(2, 1200), (1, 960)]


def test_too_few_responses_store_no_version(bank):
    simulate(bank, 10, seed=1)
    assert recalibrate_items() == 0
    assert not ItemCalibration.objects.exists()


def test_abilities_are_rescored_with_the_new_version_and_then_updated_online(alice, bank):
    simulate(bank, 80, seed=1)
    for item in bank[:5]:
        item_response_record(student=alice, item=item, correct=True)
    recalibrate_items()
    calibration = ItemCalibration.objects.get()
    ability = Ability.objects.get(student=alice)
    assert ability.calibration == calibration
    item_response_record(student=alice, item=bank[5], correct=False)  # incremental on the rescored posterior
    ability.refresh_from_db()
    p = calibration.params
    params = ItemParams(
        a=np.array([p[i.key]["a"] for i in bank[:6]]),
        b=np.array([p[i.key]["b"] for i in bank[:6]]),
        c=np.array([p[i.key]["c"] for i in bank[:6]]),
    )
    theta, se = eap(np.zeros(6, int), np.arange(6), np.array([1, 1, 1, 1, 1, 0]), params)
    assert (ability.theta, ability.se, ability.n_responses) == (pytest.approx(theta[0]), pytest.approx(se[0]), 6)
    assert Ability.objects.filter(curriculum=bank[0].curriculum).count() == 81  # the simulated students too


def test_the_task_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["recalibrate-items"]
    assert entry["task"] == recalibrate_items.name == "tutor.learners.tasks.recalibrate_items"
    assert entry["schedule"] > 0


def test_the_command_recalibrates_without_a_beat(bank):
    from io import StringIO

    from django.core.management import call_command

    simulate(bank, 80, seed=4)
    out = StringIO()
    call_command("recalibrate_items", stdout=out)
    assert "1 new calibration version(s) stored" in out.getvalue()
    call_command("recalibrate_items", stdout=out)
    assert ItemCalibration.objects.filter(curriculum=bank[0].curriculum).count() == 1

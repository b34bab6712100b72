"""Online ability: every item response updates the student's theta (EAP) and the mastery of the item's concepts."""

import numpy as np
import pytest

from models.irt import ItemParams, eap
from tests.irt_items import add_items, params_of
from tutor.curricula.models import Item
from tutor.learners.actions import item_calibration_store, item_response_record
from tutor.learners.models import Ability, ItemResponse, MasteryEvent

PATTERN = [1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0]


@pytest.fixture
def bank(fractions):
    return add_items(fractions, n=12, a=1.4, c=0.2)


def answer_all(student, items, pattern, source="practice"):
    for item, correct in zip(items, pattern, strict=True):
        item_response_record(student=student, item=item, correct=bool(correct), source=source)


def from_scratch(items, pattern, params: ItemParams | None = None):
    theta, se = eap(np.zeros(len(items), int), np.arange(len(items)), np.array(pattern), params or params_of(items))
    return float(theta[0]), float(se[0])


def test_online_theta_matches_a_from_scratch_eap_on_the_same_responses(alice, bank):
    answer_all(alice, bank, PATTERN)
    ability = Ability.objects.get(student=alice, curriculum=bank[0].curriculum)
    theta, se = from_scratch(bank, PATTERN)
    assert ability.theta == pytest.approx(theta, abs=1e-9)
    assert ability.se == pytest.approx(se, abs=1e-9)
    assert ability.n_responses == len(PATTERN) and ability.calibration is None


def test_every_response_keeps_theta_after_it_so_progress_can_be_plotted(alice, bank):
    answer_all(alice, bank[:4], [1, 1, 1, 1])
    history = list(ItemResponse.objects.filter(student=alice).values_list("theta", "se"))
    assert len(history) == 4
    assert [t for t, _ in history] == sorted(t for t, _ in history)  # all right: theta only rises
    assert history[-1][1] < history[0][1] < 1.0  # and the SE only shrinks
    assert history[-1] == pytest.approx(from_scratch(bank[:4], [1, 1, 1, 1]))


def test_an_item_response_is_mastery_evidence_for_the_item_concepts(alice, bank):
    item_response_record(student=alice, item=bank[0], correct=True, source="practice")
    event = MasteryEvent.objects.get(student=alice)
    assert (event.concept, event.kind, event.correct) == ("frac.add-unlike", "item", True)


def test_item_without_parameters_is_stored_but_leaves_theta_alone(alice, fractions):
    item = Item.objects.create(
        curriculum=fractions, key="x.uncal", position=99, question="?", answer={"kind": "number", "value": "1"}
    )
    response = item_response_record(student=alice, item=item, correct=True, source="practice")
    ability = Ability.objects.get(student=alice, curriculum=fractions)
    assert (response.theta, ability.theta, ability.se, ability.n_responses) == (
        None,
        pytest.approx(0.0),
        pytest.approx(1.0),
        0,
    )


def test_each_student_has_their_own_theta(alice, bob, bank):
    answer_all(alice, bank[:6], [1] * 6)
    answer_all(bob, bank[:6], [0] * 6)
    curriculum = bank[0].curriculum
    assert Ability.objects.get(student=alice, curriculum=curriculum).theta > 0.5
    assert Ability.objects.get(student=bob, curriculum=curriculum).theta < -1.5


def test_a_newer_calibration_version_is_read_and_the_posterior_rebuilt_with_it(alice, bank):
    answer_all(alice, bank[:6], PATTERN[:6])
    recalibrated = {item.key: {"a": 0.8, "b": item.irt_b + 0.5, "c": 0.1} for item in bank[:3]}
    calibration = item_calibration_store(
        curriculum=bank[0].curriculum, model="3pl", params=recalibrated, responses=6, responses_hash="x"
    )
    answer_all(alice, bank[6:8], PATTERN[6:8])
    ability = Ability.objects.get(student=alice, curriculum=bank[0].curriculum)
    params = params_of(bank[:8])
    for i in range(3):  # the calibrated items use the new values, the rest their authored ones
        params.a[i], params.b[i], params.c[i] = 0.8, bank[i].irt_b + 0.5, 0.1
    assert ability.calibration == calibration
    assert (ability.theta, ability.se) == pytest.approx(from_scratch(bank[:8], PATTERN[:8], params), abs=1e-9)


def test_a_version_stored_by_another_process_is_seen_and_the_posterior_rebuilt(alice, bank, monkeypatch):
    from tutor.learners import calibration as cal
    from tutor.learners.models import ItemCalibration

    monkeypatch.setattr(cal, "LATEST_TTL_S", 0.0)  # as if this process's cached idea had expired
    answer_all(alice, bank[:4], PATTERN[:4])
    params = {item.key: {"a": 2.0, "b": item.irt_b - 0.4, "c": 0.0} for item in bank}
    other = ItemCalibration.objects.create(  # not through the action: nothing told this process
        curriculum=bank[0].curriculum, version=1, model="2pl", params=params, responses=4, responses_hash="y"
    )
    item_response_record(student=alice, item=bank[4], correct=True)
    ability = Ability.objects.get(student=alice)
    expected = ItemParams(a=np.full(5, 2.0), b=np.array([i.irt_b - 0.4 for i in bank[:5]]), c=np.zeros(5))
    assert ability.calibration == other
    assert (ability.theta, ability.se) == pytest.approx(from_scratch(bank[:5], PATTERN[:4] + [1], expected), abs=1e-9)

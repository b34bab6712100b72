"""IRT calibration and scoring (models/irt): recovery on simulated logs, edge cases, sparse input."""

from __future__ import annotations

import numpy as np
import pytest

from models.irt import IRTModel, ItemParams, eap, map_theta


def simulate(n_persons=2000, n_items=20, model="2pl", seed=0, keep=1.0):
    """Long-format logs from known parameters; ``keep`` < 1 drops responses at random (sparse)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.8, 2.0, n_items) if model != "1pl" else np.ones(n_items)
    b = rng.uniform(-1.5, 1.5, n_items)
    c = rng.uniform(0.1, 0.25, n_items) if model == "3pl" else np.zeros(n_items)
    theta = rng.normal(size=n_persons)
    person = np.repeat(np.arange(n_persons), n_items)
    item = np.tile(np.arange(n_items), n_persons)
    mask = rng.random(len(person)) < keep
    person, item = person[mask], item[mask]
    p = c[item] + (1 - c[item]) / (1 + np.exp(-a[item] * (theta[person] - b[item])))
    correct = (rng.random(len(p)) < p).astype(np.int64)
    return person, item, correct, ItemParams(a=a, b=b, c=c), theta


def rmse(x, y):
    return float(np.sqrt(np.mean((x - y) ** 2)))


def test_2pl_recovers_slopes_and_difficulties():
    person, item, correct, true, _ = simulate()
    model = IRTModel(model="2pl").fit(person, item, correct)
    assert model.converged_
    assert rmse(model.item_params_.a, true.a) < 0.12
    assert rmse(model.item_params_.b, true.b) < 0.08
    assert np.all(model.item_params_.c == 0)


def test_1pl_recovers_difficulties_with_common_slope():
    person, item, correct, true, _ = simulate(model="1pl")
    model = IRTModel(model="1pl").fit(person, item, correct)
    assert np.ptp(model.item_params_.a) == 0
    assert abs(model.item_params_.a[0] - 1.0) < 0.1
    assert rmse(model.item_params_.b, true.b) < 0.08


def test_3pl_fits_with_priors_and_recovers_difficulties():
    person, item, correct, true, _ = simulate(n_persons=3000, model="3pl", seed=1)
    model = IRTModel(model="3pl").fit(person, item, correct)
    params = model.item_params_
    assert np.all((params.c > 0) & (params.c < 0.5))
    assert rmse(params.b, true.b) < 0.25
    assert rmse(params.c, true.c) < 0.08
    assert np.all(np.isfinite(model.se_.c))


def test_3pl_loglik_is_at_least_2pl_loglik_on_guessing_data():
    person, item, correct, _, _ = simulate(n_persons=2000, model="3pl", seed=2)
    ll2 = IRTModel(model="2pl").fit(person, item, correct).loglik_
    ll3 = IRTModel(model="3pl").fit(person, item, correct).loglik_
    assert ll3 > ll2


def test_loglik_increases_over_em_iterations():
    person, item, correct, _, _ = simulate(n_persons=500, n_items=10)
    history = np.array(IRTModel(model="2pl", tol=1e-6).fit(person, item, correct).loglik_history_)
    assert np.all(np.diff(history) > -1e-6)


def test_standard_errors_shrink_with_more_persons():
    small = IRTModel().fit(*simulate(n_persons=500, n_items=10)[:3])
    large = IRTModel().fit(*simulate(n_persons=4000, n_items=10)[:3])
    assert np.all(small.se_.a > 0) and np.all(large.se_.b > 0)
    assert np.median(large.se_.b) < np.median(small.se_.b)


@pytest.mark.parametrize("model", ["1pl", "2pl", "3pl"])
def test_louis_and_oakes_marginal_standard_errors_agree(model):
    person, item, correct, _, _ = simulate(n_persons=800, n_items=6, model=model)
    louis = IRTModel(model=model, se_method="louis").fit(person, item, correct).se_
    oakes = IRTModel(model=model, se_method="oakes").fit(person, item, correct).se_
    for name in "abc":
        np.testing.assert_allclose(getattr(louis, name), getattr(oakes, name), rtol=1e-3, atol=1e-6)


def test_marginal_standard_errors_exceed_complete_data_ones():
    """Complete-data information ignores theta uncertainty, so its SEs are smaller."""
    person, item, correct, _, _ = simulate(n_persons=1000, n_items=5)
    marginal = IRTModel().fit(person, item, correct)
    complete = IRTModel(se_method="complete").fit(person, item, correct).se_
    assert marginal.se_method_ == "louis"
    assert np.all(marginal.se_.a > complete.a)


def test_degenerate_items_are_reported_and_do_not_crash():
    person, item, correct, _, _ = simulate(n_persons=500, n_items=6)
    correct = correct.copy()
    correct[item == 2] = 1
    correct[item == 4] = 0
    model = IRTModel(n_items=8).fit(person, item, correct)
    assert model.degenerate_items_.tolist() == [2, 4, 6, 7]
    assert model.degenerate_reasons_ == {2: "all correct", 4: "all wrong", 6: "no responses", 7: "no responses"}
    usable = [0, 1, 3, 5]
    assert np.all(np.isfinite(model.item_params_.a[usable])) and np.all(np.isfinite(model.se_.b[usable]))
    assert np.isnan(model.item_params_.b[2])
    theta, sd = model.eap(np.zeros(3, int), np.array([0, 2, 4]), np.array([1, 1, 0]))
    assert np.isfinite(theta[0]) and 0 < sd[0] < 1


def test_sparse_input_with_missing_responses_recovers_parameters():
    person, item, correct, true, _ = simulate(n_persons=4000, n_items=20, keep=0.5, seed=3)
    assert len(person) < 4000 * 20 * 0.55
    model = IRTModel().fit(person, item, correct)
    assert rmse(model.item_params_.b, true.b) < 0.1


def test_person_ids_need_not_be_contiguous():
    person, item, correct, _, _ = simulate(n_persons=300, n_items=8)
    a = IRTModel().fit(person, item, correct).item_params_
    b = IRTModel().fit(person * 1000 + 7, item, correct).item_params_
    np.testing.assert_allclose(a.b, b.b)


def test_eap_of_perfect_and_all_wrong_patterns_is_finite():
    items = ItemParams(a=np.full(10, 1.5), b=np.linspace(-2, 2, 10), c=np.zeros(10))
    person = np.repeat([0, 1], 10)
    item = np.tile(np.arange(10), 2)
    correct = np.r_[np.ones(10, int), np.zeros(10, int)]
    theta, sd = eap(person, item, correct, items)
    assert np.all(np.isfinite(theta)) and np.all(np.isfinite(sd))
    assert theta[0] > 1.5 and theta[1] < -1.5
    theta_map, sd_map = map_theta(person, item, correct, items)
    assert np.all(np.isfinite(theta_map)) and theta_map[0] > 1 and theta_map[1] < -1


def test_eap_tracks_true_theta():
    person, item, correct, _, theta = simulate(n_persons=1000, n_items=20)
    model = IRTModel().fit(person, item, correct)
    est, sd = model.eap(person, item, correct)
    assert np.corrcoef(est, theta)[0, 1] > 0.9
    assert 0.2 < np.median(sd) < 0.6
    est_map, _ = model.map_theta(person, item, correct)
    assert np.corrcoef(est_map, est)[0, 1] > 0.99


def test_person_without_responses_gets_the_prior():
    items = ItemParams(a=np.ones(2), b=np.zeros(2), c=np.zeros(2))
    theta, sd = eap(np.array([2]), np.array([0]), np.array([1]), items)
    assert theta[0] == pytest.approx(0.0, abs=1e-9) and sd[0] == pytest.approx(1.0, abs=1e-3)
    assert theta[2] > 0


@pytest.mark.parametrize(
    "person, item, correct",
    [
        ([0, 1], [0], [1]),
        ([0, -1], [0, 0], [1, 0]),
        ([0, 1], [0, 0], [1, 2]),
        ([0.5, 1], [0, 0], [1, 0]),
    ],
)
def test_bad_logs_are_rejected(person, item, correct):
    with pytest.raises(ValueError):
        IRTModel().fit(np.array(person), np.array(item), np.array(correct))


def test_unknown_model_is_rejected_at_fit():
    with pytest.raises(ValueError, match="model must be"):
        IRTModel(model="rasch").fit(np.array([0]), np.array([0]), np.array([1]))


def test_torch_backend_matches_numpy():
    pytest.importorskip("torch")
    person, item, correct, _, _ = simulate(n_persons=500, n_items=10)
    ours = IRTModel().fit(person, item, correct).item_params_
    torch_fit = IRTModel(backend="torch", device="cpu").fit(person, item, correct).item_params_
    np.testing.assert_allclose(torch_fit.a, ours.a, atol=1e-6)
    np.testing.assert_allclose(torch_fit.b, ours.b, atol=1e-6)

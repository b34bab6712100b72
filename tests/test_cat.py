"""Adaptive testing (models/irt/cat.py): information, item selection, stopping, online theta."""

from __future__ import annotations

import numpy as np
import pytest

from models.irt import (
    AdaptiveTest,
    ItemParams,
    eap,
    fisher_information,
    select_max_info,
    select_target_success,
    should_stop,
    update_theta,
)
from models.irt.cat import success_bound
from models.irt.quadrature import normal_quadrature


def bank(n=40, seed=0, guess=False):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.1, 0.25, n) if guess else np.zeros(n)
    return ItemParams(a=rng.uniform(0.5, 2.5, n), b=rng.normal(0, 1.2, n), c=c)


def test_fisher_information_matches_numerical_derivative_formula():
    items = bank(guess=True)
    theta, h = 0.3, 1e-5
    p = items.prob(np.array([theta - h, theta, theta + h]))
    dp = (p[:, 2] - p[:, 0]) / (2 * h)
    expected = dp**2 / (p[:, 1] * (1 - p[:, 1]))
    np.testing.assert_allclose(fisher_information(theta, items), expected, rtol=1e-5)


def test_2pl_information_peaks_at_difficulty():
    items = ItemParams(a=np.array([1.7]), b=np.array([0.4]), c=np.zeros(1))
    grid = np.linspace(-3, 3, 601)
    assert grid[np.argmax(fisher_information(grid, items)[0])] == pytest.approx(0.4, abs=0.01)


def test_max_info_selects_the_most_informative_item_with_k1():
    items = bank()
    for theta in (-1.0, 0.0, 1.5):
        assert select_max_info(theta, items, k=1) == int(np.argmax(fisher_information(theta, items)))


def test_max_info_skips_administered_and_degenerate_items():
    items = bank()
    best = select_max_info(0.0, items, k=1)
    assert select_max_info(0.0, items, administered=[best], k=1) != best
    a = items.a.copy()
    a[best] = np.nan
    assert select_max_info(0.0, ItemParams(a=a, b=items.b, c=items.c), k=1) != best
    assert select_max_info(0.0, items, administered=range(len(items))) is None


def test_randomesque_picks_only_among_top_k_and_spreads_exposure():
    items = bank()
    top5 = set(np.argsort(-fisher_information(0.0, items))[:5].tolist())
    rng = np.random.default_rng(1)
    picks = [select_max_info(0.0, items, k=5, rng=rng) for _ in range(200)]
    assert set(picks) == top5


@pytest.mark.parametrize("theta, p", [(-1.0, 0.7), (0.0, 0.7), (1.0, 0.5), (0.5, 0.9)])
def test_target_success_choice_obeys_the_inequality_and_is_hardest(theta, p):
    items = bank(seed=2)
    chosen = select_target_success(theta, items, p=p)
    bound = theta + np.log(1 / p - 1) / items.a
    assert items.b[chosen] <= bound[chosen]
    assert items.prob(np.array([theta]))[chosen, 0] >= p - 1e-12
    ok = items.b <= bound
    assert items.b[chosen] == items.b[ok].max()


def test_target_success_falls_back_to_nearest_item_when_none_qualifies():
    items = ItemParams(a=np.array([1.0, 1.0, 2.0]), b=np.array([3.0, 2.0, 2.5]), c=np.zeros(3))
    chosen = select_target_success(-2.0, items, p=0.7)
    gap = items.b - success_bound(-2.0, items, 0.7)
    assert np.all(gap > 0) and chosen == int(np.argmin(gap)) == 1


def test_target_success_accounts_for_guessing():
    items = ItemParams(a=np.array([1.0]), b=np.array([0.0]), c=np.array([0.25]))
    bound = success_bound(0.0, items, 0.7)[0]
    p_at_bound = items.c[0] + (1 - items.c[0]) / (1 + np.exp(-items.a[0] * (0.0 - bound)))
    assert p_at_bound == pytest.approx(0.7)
    assert success_bound(0.0, ItemParams(a=np.ones(1), b=np.zeros(1), c=np.array([0.8])), 0.7)[0] == np.inf


def test_stopping_rules():
    assert should_stop(se=0.29, n_items=5)
    assert not should_stop(se=0.31, n_items=5)
    assert should_stop(se=0.9, n_items=20)
    assert not should_stop(se=0.1, n_items=1, min_items=3)
    assert should_stop(se=0.5, n_items=10, se_target=0.5, max_items=30)


def test_online_update_equals_batch_eap():
    items = bank(guess=True)
    nodes, log_post = normal_quadrature(61, "grid")
    seq = [(3, 1), (7, 0), (11, 1), (0, 1)]
    for item, correct in seq:
        log_post, theta, sd = update_theta(log_post, nodes, items, item, correct)
    batch_theta, batch_sd = eap(np.zeros(4, int), np.array([i for i, _ in seq]), np.array([c for _, c in seq]), items)
    assert theta == pytest.approx(batch_theta[0]) and sd == pytest.approx(batch_sd[0])


def test_adaptive_test_converges_toward_a_simulated_student():
    items = ItemParams(a=np.full(200, 2.0), b=np.linspace(-3, 3, 200), c=np.zeros(200))
    rng = np.random.default_rng(4)
    errors = []
    for true_theta in (-1.5, 0.0, 1.2):
        test = AdaptiveTest(items, se_target=0.3, max_items=40, rng=rng)
        while not test.done:
            item = test.next_item()
            test.record(item, int(rng.random() < items.prob(np.array([true_theta]))[item, 0]))
        assert test.se <= 0.3 or len(test.administered) == 40
        assert len(set(test.administered)) == len(test.administered)
        errors.append(abs(test.theta - true_theta))
    assert np.mean(errors) < 0.6


def test_adaptive_test_target_success_strategy_and_exhaustion():
    items = bank(n=3)
    test = AdaptiveTest(items, strategy="target_success", se_target=0.0, max_items=10)
    while not test.done:
        test.record(test.next_item(), 1)
    assert sorted(test.administered) == [0, 1, 2] and test.next_item() is None
    with pytest.raises(ValueError):
        AdaptiveTest(items, strategy="random")

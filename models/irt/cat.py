"""Computerised adaptive testing (CAT) on calibrated 3PL items.

Two selection rules, because a tutor wants two different things:

* ``select_max_info`` measures: it picks the item with the most Fisher
  information at the current theta, randomised among the top ``k``
  ("randomesque" exposure control, Kingsbury & Zara 1989) so the same few
  items are not shown to everyone.
* ``select_target_success`` teaches: it picks the hardest item the student
  still answers correctly with probability >= p. For c = 0 that is
  b <= theta + ln(1/p - 1) / a; with guessing, p is replaced by
  (p - c) / (1 - c), the success rate needed from the logistic part.

Theta is updated online: the log-posterior on a fixed grid gets one log P per
response, so ``record`` is O(n_quad) and the estimate is the EAP.

>>> items = ItemParams(a=np.array([1.0, 2.0]), b=np.array([0.0, 0.0]), c=np.zeros(2))
>>> int(select_max_info(0.0, items, administered=(), k=1))
1
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .items import EPS, ItemParams, sigmoid
from .quadrature import normal_quadrature


def fisher_information(theta: float | np.ndarray, items: ItemParams) -> np.ndarray:
    """3PL item information a^2 (Q / P) ((P - c) / (1 - c))^2 at theta; 0 for unusable items.

    Scalar theta gives shape (n_items,); an array gives (n_items, len(theta)).
    """
    t = np.atleast_1d(np.asarray(theta, dtype=float))
    a, b, c = (np.nan_to_num(x)[:, None] for x in (items.a, items.b, items.c))
    p = np.clip(c + (1 - c) * sigmoid(a * (t[None, :] - b)), EPS, 1 - EPS)
    info = a**2 * ((1 - p) / p) * ((p - c) / (1 - c)) ** 2
    info[~items.usable] = 0.0
    return info[:, 0] if np.ndim(theta) == 0 else info


def _available(items: ItemParams, administered: Iterable[int]) -> np.ndarray:
    mask = items.usable.copy()
    mask[list(administered)] = False
    return mask


def select_max_info(
    theta: float,
    items: ItemParams,
    administered: Iterable[int] = (),
    k: int = 5,
    rng: np.random.Generator | None = None,
) -> int | None:
    """A random item among the ``k`` most informative at theta not yet administered (None if none left)."""
    mask = _available(items, administered)
    candidates = np.flatnonzero(mask)
    if len(candidates) == 0:
        return None
    info = fisher_information(theta, items)[candidates]
    k = max(1, min(k, len(candidates)))
    top = candidates[np.argsort(-info, kind="stable")[:k]]
    rng = rng if rng is not None else np.random.default_rng()
    return int(top[rng.integers(len(top))]) if k > 1 else int(top[0])


def success_bound(theta: float, items: ItemParams, p: float) -> np.ndarray:
    """Largest b at which each item is answered correctly with probability >= p at theta.

    Items whose guessing floor c is already >= p satisfy any b (bound +inf).
    """
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    c = np.nan_to_num(items.c)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.where(c < p, (p - c) / (1 - c), np.nan)
        bound = theta + np.log(1 / target - 1) / items.a
    return np.where(c >= p, np.inf, bound)


def select_target_success(
    theta: float, items: ItemParams, p: float = 0.7, administered: Iterable[int] = ()
) -> int | None:
    """The hardest item with P(correct | theta) >= p; if none qualifies, the one closest to qualifying."""
    mask = _available(items, administered)
    candidates = np.flatnonzero(mask)
    if len(candidates) == 0:
        return None
    bound = success_bound(theta, items, p)[candidates]
    b = items.b[candidates]
    fits = b <= bound
    if fits.any():
        return int(candidates[fits][np.argmax(b[fits])])
    return int(candidates[np.argmin(b - bound)])


def should_stop(se: float, n_items: int, se_target: float = 0.3, max_items: int = 20, min_items: int = 1) -> bool:
    """Stop once the posterior SD reaches ``se_target`` (after ``min_items``) or ``max_items`` are given.

    >>> should_stop(0.25, 8), should_stop(0.5, 8), should_stop(0.5, 20)
    (True, False, True)
    """
    if n_items >= max_items:
        return True
    return n_items >= min_items and se <= se_target


def update_theta(
    log_post: np.ndarray, nodes: np.ndarray, items: ItemParams, item: int, correct: int
) -> tuple[np.ndarray, float, float]:
    """Add one response to a grid log-posterior; returns (new log-posterior, EAP theta, posterior SD)."""
    p = np.clip(_prob_one(items, item, nodes), EPS, 1 - EPS)
    log_post = log_post + (np.log(p) if correct else np.log1p(-p))
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    mean = float(w @ nodes)
    sd = float(np.sqrt(max(w @ nodes**2 - mean**2, 0.0)))
    return log_post, mean, sd


def _prob_one(items: ItemParams, item: int, nodes: np.ndarray) -> np.ndarray:
    a, b, c = items.a[item], items.b[item], items.c[item]
    return c + (1 - c) * sigmoid(a * (nodes - b))


class AdaptiveTest:
    """One student's adaptive test: pick an item, record the answer, update theta, decide when to stop.

    >>> items = ItemParams(a=np.full(30, 1.5), b=np.linspace(-2, 2, 30), c=np.zeros(30))
    >>> test = AdaptiveTest(items, rng=np.random.default_rng(0), max_items=5)
    >>> while not test.done:
    ...     theta, se = test.record(test.next_item(), correct=1)
    >>> len(test.administered), test.theta > 0.5
    (5, True)
    """

    def __init__(
        self,
        items: ItemParams,
        strategy: str = "max_info",
        k: int = 5,
        p: float = 0.7,
        se_target: float = 0.3,
        max_items: int = 20,
        min_items: int = 1,
        n_quad: int = 61,
        rng: np.random.Generator | None = None,
    ) -> None:
        if strategy not in ("max_info", "target_success"):
            raise ValueError("strategy must be 'max_info' or 'target_success'")
        self.items, self.strategy, self.k, self.p = items, strategy, k, p
        self.se_target, self.max_items, self.min_items = se_target, max_items, min_items
        self.rng = rng if rng is not None else np.random.default_rng()
        self.nodes, self.log_post = normal_quadrature(n_quad, "grid")
        self.administered: list[int] = []
        self.responses: list[int] = []
        self.theta, self.se = 0.0, 1.0

    @property
    def done(self) -> bool:
        """True when a stopping rule fires or no usable item is left."""
        if len(self.administered) >= int(self.items.usable.sum()):
            return True
        return should_stop(self.se, len(self.administered), self.se_target, self.max_items, self.min_items)

    def next_item(self) -> int | None:
        """The next item to show, by the chosen strategy (None when the test is done)."""
        if self.done:
            return None
        if self.strategy == "max_info":
            return select_max_info(self.theta, self.items, self.administered, self.k, self.rng)
        return select_target_success(self.theta, self.items, self.p, self.administered)

    def record(self, item: int, correct: int) -> tuple[float, float]:
        """Record a response and return the updated (EAP theta, posterior SD)."""
        if not self.items.usable[item]:
            raise ValueError(f"item {item} has no usable parameters")
        self.log_post, self.theta, self.se = update_theta(self.log_post, self.nodes, self.items, item, correct)
        self.administered.append(int(item))
        self.responses.append(int(correct))
        return self.theta, self.se

"""Person scoring with known item parameters: EAP and MAP under theta ~ N(0, 1).

Why EAP by default: it is finite for every response pattern, including all
right and all wrong (where maximum likelihood runs off to infinity), and its
posterior SD is the standard error an adaptive test stops on.

Results are indexed by person id: entry p is person p's estimate, and a person
id with no responses gets the prior (theta 0, sd 1).

>>> items = ItemParams(a=np.ones(3), b=np.array([-1.0, 0.0, 1.0]), c=np.zeros(3))
>>> theta, sd = eap(np.zeros(3, int), np.arange(3), np.ones(3, int), items)
>>> bool(theta[0] > 0.5 and sd[0] < 1.0)
True
"""

from __future__ import annotations

import numpy as np

from .items import EPS, ItemParams, sigmoid
from .quadrature import normal_quadrature
from .sparse import SparseDesign


def check_logs(person, item, correct) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate long-format logs: equal-length 1-D non-negative integer arrays, correct in {0, 1}."""
    person, item, correct = (np.asarray(x) for x in (person, item, correct))
    if not (person.ndim == item.ndim == correct.ndim == 1) or not (len(person) == len(item) == len(correct)):
        raise ValueError("person, item and correct must be 1-D arrays of equal length")
    for name, x in (("person", person), ("item", item)):
        if len(x) and (not np.issubdtype(x.dtype, np.integer) or x.min() < 0):
            raise ValueError(f"{name} must hold non-negative integer ids")
    if len(correct) and not np.isin(correct, (0, 1)).all():
        raise ValueError("correct must be 0 or 1")
    return person.astype(np.int64), item.astype(np.int64), correct.astype(np.int64)


def _usable_responses(person, item, correct, items: ItemParams):
    person, item, correct = check_logs(person, item, correct)
    if len(item) and item.max() >= len(items):
        raise ValueError(f"item id {int(item.max())} is beyond the {len(items)} calibrated items")
    keep = items.usable[item]
    return person[keep], item[keep], correct[keep], (int(person.max()) + 1 if len(person) else 0)


def eap(
    person, item, correct, items: ItemParams, n_quad: int = 61, quadrature: str = "grid", backend: str = "numpy"
) -> tuple[np.ndarray, np.ndarray]:
    """Expected a posteriori theta and posterior SD for every person id."""
    person, item, correct, n_persons = _usable_responses(person, item, correct, items)
    nodes, log_w = normal_quadrature(n_quad, quadrature)
    design = SparseDesign(person, 2 * item + correct, n_persons, 2 * len(items), backend=backend)
    post, _ = design.posterior(items.log_table(nodes), log_w)
    post = design.to_numpy(post)
    mean = post @ nodes
    var = post @ nodes**2 - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0))


def map_theta(
    person, item, correct, items: ItemParams, max_iter: int = 50, tol: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum a posteriori theta and 1 / sqrt(test information + 1) for every person id.

    Fisher scoring from the EAP, vectorised over persons with ``bincount`` over
    responses; steps are capped at 1 so a 3PL's non-concave posterior cannot
    throw a person far away.
    """
    theta, _ = eap(person, item, correct, items)
    person, item, correct, _ = _usable_responses(person, item, correct, items)
    a, b, c = items.a[item], items.b[item], items.c[item]
    n = len(theta)
    info = np.ones(n)
    for _ in range(max_iter):
        s = sigmoid(a * (theta[person] - b))
        p = np.clip(c + (1.0 - c) * s, EPS, 1.0 - EPS)
        dp = a * (1.0 - c) * s * (1.0 - s)
        grad = np.bincount(person, weights=dp * (correct - p) / (p * (1.0 - p)), minlength=n) - theta
        info = np.bincount(person, weights=dp**2 / (p * (1.0 - p)), minlength=n) + 1.0
        step = np.clip(grad / info, -1.0, 1.0)
        theta = theta + step
        if np.abs(step).max(initial=0.0) < tol:
            break
    return theta, 1.0 / np.sqrt(info)

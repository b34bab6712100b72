"""The item response function and the per-item M-step of EM.

P(correct | theta) = c + (1 - c) * sigmoid(a * (theta - b)).

Why slope-intercept inside: the M-step works on z = a * theta + d (d = -a * b)
and on gamma = logit(c). In (a, d) the 2PL's expected complete-data
log-likelihood is concave with an exact Fisher information, and gamma keeps c
in (0, 1) without constraints. Results are reported as (a, b, c).

Why Fisher scoring, vectorised over items: every item's M-step is a tiny
(1 to 3 parameter) problem; solving all of them with batched 3x3 solves costs
a handful of numpy operations per EM iteration, whatever the number of items.

>>> p = ItemParams(a=np.array([1.0]), b=np.array([0.0]), c=np.array([0.2]))
>>> round(float(p.prob(np.array([0.0]))[0, 0]), 6)
0.6
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-10
A_BOUNDS = (1e-3, 20.0)
D_BOUNDS = (-40.0, 40.0)
GAMMA_BOUNDS = (-12.0, 0.0)  # c in (6e-6, 0.5]: a guess rate above one half is not a guess


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass(frozen=True)
class ItemParams:
    """Per-item (a, b, c) arrays, indexed by item id."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray

    def __len__(self) -> int:
        return len(self.a)

    @property
    def usable(self) -> np.ndarray:
        """Items with finite parameters (degenerate items are NaN and must be skipped)."""
        return np.isfinite(self.a) & np.isfinite(self.b) & np.isfinite(self.c)

    def prob(self, theta: np.ndarray) -> np.ndarray:
        """P(correct), shape (n_items, len(theta))."""
        s = sigmoid(self.a[:, None] * (np.asarray(theta)[None, :] - self.b[:, None]))
        return self.c[:, None] + (1.0 - self.c[:, None]) * s

    def log_table(self, theta: np.ndarray) -> np.ndarray:
        """Rows 2i and 2i+1 hold log P(wrong) and log P(right) of item i at each node.

        This interleaving matches the column index ``2 * item + correct`` of the
        sparse response design, so a sparse product gives per-person log-likelihoods.
        Unusable items get zeros (they contribute nothing).
        """
        p = np.clip(self.prob(theta), EPS, 1.0 - EPS)
        table = np.empty((2 * len(self), len(theta)))
        table[0::2] = np.log1p(-p)
        table[1::2] = np.log(p)
        table[~np.repeat(self.usable, 2)] = 0.0
        return table


def to_irt(a: np.ndarray, d: np.ndarray, gamma: np.ndarray | None) -> ItemParams:
    """Slope-intercept (a, d, logit c) to the (a, b, c) parameterisation."""
    c = np.zeros_like(a) if gamma is None else sigmoid(gamma)
    return ItemParams(a=a.copy(), b=-d / a, c=c)


def score_and_info(
    theta: np.ndarray,
    u: np.ndarray,
    r: np.ndarray,
    n: np.ndarray,
    model: str,
    prior_a: tuple[float, float] | None,
    prior_c: tuple[float, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Fisher information of each item's M-step objective.

    ``u`` is (n_items, k) with columns (a, d[, gamma]); ``r`` and ``n`` are the
    expected numbers of correct answers and of answers at each node,
    (n_items, n_quad). The objective is the expected complete-data
    log-likelihood plus the log priors. For the 1PL, the a column is shared and
    its score must be summed over items by the caller.
    """
    a, d = u[:, 0:1], u[:, 1:2]
    s = sigmoid(a * theta[None, :] + d)
    if model == "3pl":
        c = sigmoid(u[:, 2:3])
        p = c + (1.0 - c) * s
    else:
        c = np.zeros_like(a)
        p = s
    p = np.clip(p, EPS, 1.0 - EPS)
    pq = p * (1.0 - p)
    ds = (1.0 - c) * s * (1.0 - s)
    derivs = [ds * theta[None, :], ds]
    if model == "3pl":
        derivs.append(c * (1.0 - c) * (1.0 - s))
    jac = np.stack(derivs, axis=-1)  # (items, quad, k)
    resid = (r - n * p) / pq
    grad = np.einsum("iq,iqk->ik", resid, jac)
    info = np.einsum("iq,iqk,iql->ikl", n / pq, jac, jac)
    a1 = u[:, 0]
    if prior_a is not None:
        mu, sigma = prior_a
        grad[:, 0] += -1.0 / a1 - (np.log(a1) - mu) / (sigma**2 * a1)
        info[:, 0, 0] += 1.0 / (sigma**2 * a1**2)
    if model == "3pl" and prior_c is not None:
        alpha, beta = prior_c
        cc = c[:, 0]
        grad[:, 2] += (alpha - 1.0) * (1.0 - cc) - (beta - 1.0) * cc
        info[:, 2, 2] += (alpha + beta - 2.0) * cc * (1.0 - cc)
    return grad, info


def clip_params(u: np.ndarray) -> np.ndarray:
    """Keep (a, d, gamma) inside bounds where the model is identified and finite."""
    u[:, 0] = np.clip(u[:, 0], *A_BOUNDS)
    u[:, 1] = np.clip(u[:, 1], *D_BOUNDS)
    if u.shape[1] > 2:
        u[:, 2] = np.clip(u[:, 2], *GAMMA_BOUNDS)
    return u


def m_step(
    u: np.ndarray,
    theta: np.ndarray,
    r: np.ndarray,
    n: np.ndarray,
    model: str,
    prior_a: tuple[float, float] | None,
    prior_c: tuple[float, float] | None,
    steps: int = 2,
    max_step: float = 1.0,
) -> np.ndarray:
    """A few Fisher-scoring steps on every item at once; returns the new (a, d[, gamma]).

    Steps are capped at ``max_step`` per coordinate: EM only needs each M-step to
    improve the objective, and a capped step cannot throw a sparse item far away.
    """
    u = u.copy()
    for _ in range(steps):
        grad, info = score_and_info(theta, u, r, n, model, prior_a, prior_c)
        if model == "1pl":
            # d per item; a common slope, updated from the summed score/information.
            u[:, 1] += np.clip(grad[:, 1] / np.maximum(info[:, 1, 1], EPS), -max_step, max_step)
            step_a = grad[:, 0].sum() / max(info[:, 0, 0].sum(), EPS)
            u[:, 0] += np.clip(step_a, -max_step, max_step)
        else:
            k = u.shape[1]
            ridge = 1e-8 * np.eye(k)[None]
            step = np.linalg.solve(info + ridge, grad[..., None])[..., 0]
            u += np.clip(step, -max_step, max_step)
        clip_params(u)
    return u


def observed_hessian(
    u: np.ndarray,
    theta: np.ndarray,
    r: np.ndarray,
    n: np.ndarray,
    model: str,
    prior_a: tuple[float, float] | None,
    prior_c: tuple[float, float] | None,
) -> np.ndarray:
    """Negative Hessian of each item's M-step objective, by central differences of its score.

    Why numerical: the exact 3PL Hessian is long to write and easy to get wrong;
    differencing the analytic score is accurate to ~1e-8 and costs 2k scores.
    """
    k = u.shape[1]
    hess = np.empty((u.shape[0], k, k))
    for j in range(k):
        h = 1e-5 * np.maximum(1.0, np.abs(u[:, j]))
        up, dn = u.copy(), u.copy()
        up[:, j] += h
        dn[:, j] -= h
        g_up, _ = score_and_info(theta, up, r, n, model, prior_a, prior_c)
        g_dn, _ = score_and_info(theta, dn, r, n, model, prior_a, prior_c)
        hess[:, :, j] = -(g_up - g_dn) / (2.0 * h[:, None])
    return 0.5 * (hess + np.transpose(hess, (0, 2, 1)))

"""Sign-constrained, hierarchically shrunk logistic regression for ``MasteryModel``, by L-BFGS-B.

Why not ``sklearn.linear_model.LogisticRegression``: the product needs
mastery to rise with every success and fall with every failure, whatever the
data's quirks (on ASSISTments the unconstrained success slope is *negative*:
in a skill builder, students who needed many items are the ones who
struggled). That is a sign constraint on the coefficients, which sklearn
cannot impose; L-BFGS-B takes box bounds. The per-concept slopes are shrunk
toward pooled slopes ``g``, ``r`` that are themselves fitted (a two-level
Gaussian prior), so an unseen concept gets the pooled slopes.

Objective (sklearn's scaling: ``C`` is the inverse strength, per response)::

    mean log-loss + 1/(2 C n) (|w|^2 + |beta|^2 + |gamma - g|^2 + |rho - r|^2)
    subject to w >= 0, gamma >= 0, g >= 0, rho <= 0, r <= 0

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(400, 1))
>>> y = (rng.random(400) < 1 / (1 + np.exp(-2 * x[:, 0]))).astype(float)
>>> rows = np.column_stack([np.zeros(400), np.zeros(400), np.zeros(400)])
>>> fit = fit_pfa(x, rows, y, n_concepts=1)
>>> bool(1.5 < fit.w[0] < 2.5)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize


@dataclass
class PFAFit:
    """Intercept ``b``, shared weights ``w``, per-concept ``beta``/``gamma``/``rho``, pooled slopes ``g``/``r``."""

    b: float
    w: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray
    rho: np.ndarray
    g: float
    r: float
    n_iter: int = 0
    converged: bool = False


def design(dense: np.ndarray, rows: np.ndarray, n_concepts: int) -> sp.csr_matrix:
    """[shared features | concept one-hot | one-hot * log(1+S_k) | one-hot * log(1+F_k)], sparse.

    ``rows[i]`` is (concept index, log(1+S_k), log(1+F_k)) of response i.
    """
    n, K = len(dense), n_concepts
    k = rows[:, 0].astype(int)
    r = np.arange(n)
    onehots = [sp.csr_matrix((v, (r, k)), shape=(n, K)) for v in (np.ones(n), rows[:, 1], rows[:, 2])]
    return sp.hstack([sp.csr_matrix(dense), *onehots]).tocsr()


def fit_pfa(
    dense: np.ndarray, rows: np.ndarray, y: np.ndarray, n_concepts: int, C: float = 1.0, max_iter: int = 500
) -> PFAFit:
    """Minimise the objective above. ``dense`` are the sign-constrained shared features (n, D)."""
    X = design(dense, rows, n_concepts)
    n, D, K = len(y), dense.shape[1], n_concepts
    lam = 1.0 / (C * n)
    # theta = [b, w (D), beta (K), gamma (K), rho (K), g, r]
    i_beta, i_gamma, i_rho, i_g = 1 + D, 1 + D + K, 1 + D + 2 * K, 1 + D + 3 * K

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef = theta[1:i_g]
        z = theta[0] + X @ coef
        p = 1.0 / (1.0 + np.exp(-z))
        nll = float(np.mean(np.logaddexp(0.0, z) - y * z))
        dg, dr = theta[i_gamma:i_rho] - theta[i_g], theta[i_rho:i_g] - theta[i_g + 1]
        pen = coef[: D + K] @ coef[: D + K] + dg @ dg + dr @ dr
        grad = np.empty_like(theta)
        resid = (p - y) / n
        grad[0] = resid.sum()
        grad[1:i_g] = X.T @ resid
        grad[1:i_gamma] += lam * coef[: D + K]
        grad[i_gamma:i_rho] += lam * dg
        grad[i_rho:i_g] += lam * dr
        grad[i_g], grad[i_g + 1] = -lam * dg.sum(), -lam * dr.sum()
        return nll + 0.5 * lam * pen, grad

    bounds = [(None, None)] + [(0.0, None)] * D + [(None, None)] * K + [(0.0, None)] * K + [(None, 0.0)] * K
    bounds += [(0.0, None), (None, 0.0)]
    start = np.zeros(i_g + 2)
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": max_iter})
    t = res.x
    return PFAFit(
        float(t[0]),
        t[1:i_beta],
        t[i_beta:i_gamma],
        t[i_gamma:i_rho],
        t[i_rho:i_g],
        float(t[i_g]),
        float(t[i_g + 1]),
        n_iter=int(res.nit),
        converged=bool(res.success),
    )

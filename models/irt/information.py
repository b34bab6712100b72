"""Observed information of the marginal likelihood by Louis's (1982) identity.

Why: the M-step Hessian ("complete-data" information) treats theta as known,
so its SEs are too small; with 5 items per person (LSAT7) by about 40%.
Louis's identity corrects it with the posterior variance of each person's
complete-data score:

    I_obs = sum_p E[-d2 log f_p] - sum_p Var[s_p(theta)]

where both moments are under person p's posterior on the quadrature grid. The
first term is the M-step's negative Hessian; the second needs, per person and
node, the score vector s_p(theta_q). One pass over persons in chunks, no
re-fitting; time is persons x nodes x parameters^2 and the matrix is
parameters^2, so the estimator uses it for up to a few thousand parameters.
"""

from __future__ import annotations

import numpy as np

from .items import EPS, sigmoid


def param_index(n_items: int, k: int, model: str) -> np.ndarray:
    """(n_items, k) position of each item parameter in the packed vector (1PL: slope shared at 0)."""
    if model == "1pl":
        idx = np.empty((n_items, 2), dtype=np.int64)
        idx[:, 0], idx[:, 1] = 0, 1 + np.arange(n_items)
        return idx
    return np.arange(n_items * k).reshape(n_items, k)


def pack_hessian(hess: np.ndarray, model: str) -> np.ndarray:
    """Per-item (n, k, k) blocks into the full packed matrix (shared 1PL slope entries summed)."""
    n, k, _ = hess.shape
    idx = param_index(n, k, model)
    size = int(idx.max()) + 1
    full = np.zeros((size, size))
    np.add.at(full, (idx[:, :, None], idx[:, None, :]), hess)
    return full


def louis_information(
    u: np.ndarray,
    theta: np.ndarray,
    post: np.ndarray,
    person: np.ndarray,
    item: np.ndarray,
    correct: np.ndarray,
    complete_hess: np.ndarray,
    model: str,
) -> np.ndarray:
    """Packed observed information. ``item`` indexes rows of ``u``; ``person`` indexes rows of ``post``.

    A response's complete-data score is linear in its outcome:
    (correct - P_jq) * w_jq with w_jq = dP_jq/dpsi / (P_jq (1 - P_jq)). So a
    person's score at node q for item j is (R_pj - N_pj P_jq) w_jq, where R and
    N count that person's correct answers and attempts on j. R and N are
    a chunk of persons x items, and everything else is broadcasting plus BLAS
    products, chunk by chunk.
    """
    n_items, k = u.shape
    n_persons, n_quad = post.shape
    s = sigmoid(u[:, 0:1] * theta[None, :] + u[:, 1:2])  # (items, quad)
    c = sigmoid(u[:, 2:3]) if k == 3 else np.zeros((n_items, 1))
    p = np.clip(c + (1 - c) * s, EPS, 1 - EPS)
    ds = (1 - c) * s * (1 - s) / (p * (1 - p))
    w = [ds * theta[None, :], ds] + ([c * (1 - c) * (1 - s) / (p * (1 - p))] if k == 3 else [])
    size = 1 + n_items if model == "1pl" else n_items * k
    var = np.zeros((size, size))
    order = np.argsort(person, kind="stable")
    person, item, correct = person[order], item[order], correct[order]
    # Persons in chunks of about 2e6 numbers: small arrays stay in cache and are reused.
    step = max(1, int(2e6 // (n_quad * size)))
    for start in range(0, n_persons, step):
        stop = min(start + step, n_persons)
        lo, hi = np.searchsorted(person, [start, stop])
        var += _score_variance(
            person[lo:hi] - start, item[lo:hi], correct[lo:hi], post[start:stop], p, w, n_items, model
        )
    full = pack_hessian(complete_hess, model)
    return 0.5 * ((full - var) + (full - var).T)


def _score_variance(person, item, correct, post, p, w, n_items, model) -> np.ndarray:
    """Sum over these persons of the posterior variance of their complete-data score."""
    n_persons, n_quad = post.shape
    cell = person * n_items + item
    tried = np.bincount(cell, minlength=n_persons * n_items).reshape(n_persons, n_items)
    right = np.bincount(cell, weights=correct, minlength=n_persons * n_items).reshape(n_persons, n_items)
    resid = right[:, None, :] - tried[:, None, :] * p.T[None, :, :]  # (persons, quad, items)
    parts = [resid * wj.T[None, :, :] for wj in w]
    if model == "1pl":
        scores = np.concatenate([parts[0].sum(axis=2, keepdims=True), parts[1]], axis=2)
    else:
        scores = np.stack(parts, axis=3).reshape(n_persons, n_quad, -1)  # matches param_index
    weighted = (scores * np.sqrt(post)[:, :, None]).reshape(-1, scores.shape[2])
    mean = np.matmul(post[:, None, :], scores)[:, 0, :]
    return weighted.T @ weighted - mean.T @ mean  # BLAS; an einsum here is ~10x slower

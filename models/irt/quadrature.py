"""Quadrature rules for integrating over theta ~ N(0, 1).

Why two rules: Gauss-Hermite is exact for polynomials times the normal density
and needs few nodes for calibration; a rectangular grid on [-6, 6] (what R
mirt uses) spreads nodes evenly, which suits scoring extreme patterns where
the posterior sits far in a tail. Both return log-weights that sum to one, so
callers can work in log space without underflow.

>>> nodes, log_w = normal_quadrature(21)
>>> round(float((np.exp(log_w) * nodes**2).sum()), 6)
1.0
>>> nodes, log_w = normal_quadrature(61, "grid")
>>> float(nodes[0]), float(nodes[-1])
(-6.0, 6.0)
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial.hermite_e import hermegauss


def normal_quadrature(n: int, kind: str = "gauss-hermite") -> tuple[np.ndarray, np.ndarray]:
    """Nodes and log-weights (summing to one) for E[f(theta)], theta ~ N(0, 1)."""
    if kind == "gauss-hermite":
        nodes, weights = hermegauss(n)
        weights = weights / weights.sum()
        return nodes, np.log(weights)
    if kind == "grid":
        nodes = np.linspace(-6.0, 6.0, n)
        log_w = -0.5 * nodes**2
        log_w -= np.logaddexp.reduce(log_w)
        return nodes, log_w
    raise ValueError(f"unknown quadrature {kind!r}")

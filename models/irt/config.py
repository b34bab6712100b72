"""Hyperparameters of an IRT calibration, in one frozen dataclass.

Why a dataclass: the estimator keeps its constructor arguments verbatim (the
scikit-learn convention), and everything downstream (EM, scoring, the bench)
reads one validated object instead of a loose bag of keyword arguments.

Priors. ``prior_a = (mu, sigma)`` is a lognormal prior on the slope (the
log-density includes the Jacobian, as in BILOG/mirt); ``prior_c = (alpha,
beta)`` is a Beta prior on the lower asymptote, used by the 3PL only. Both are
weak: their job is to keep a 3PL away from a < 0 and c at 0 or 1, where the
likelihood is flat. ``None`` turns a prior off, which gives plain marginal
maximum likelihood (what R mirt does by default for a 2PL). The default
``prior_a="auto"`` means lognormal(0, 1) for the 3PL and no prior for the
1PL/2PL, whose likelihood is well behaved on its own.

>>> IRTConfig(model="2pl").n_free
2
>>> IRTConfig(model="3pl").slope_prior
(0.0, 1.0)
>>> IRTConfig(model="2pl").slope_prior is None
True
>>> IRTConfig(model="4pl")
Traceback (most recent call last):
...
ValueError: model must be one of ('1pl', '2pl', '3pl'), got '4pl'
"""

from __future__ import annotations

from dataclasses import dataclass

MODELS = ("1pl", "2pl", "3pl")


@dataclass(frozen=True)
class IRTConfig:
    """Validated settings for :class:`models.irt.IRTModel`."""

    model: str = "2pl"
    n_quad: int = 41
    quadrature: str = "gauss-hermite"
    max_iter: int = 500
    tol: float = 1e-4
    prior_a: tuple[float, float] | str | None = "auto"
    prior_c: tuple[float, float] | None = (5.0, 17.0)
    newton_steps: int = 2
    backend: str = "numpy"
    device: str | None = None

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.n_quad < 5:
            raise ValueError("n_quad must be at least 5")
        if self.quadrature not in ("gauss-hermite", "grid"):
            raise ValueError("quadrature must be 'gauss-hermite' or 'grid'")
        if self.backend not in ("numpy", "torch"):
            raise ValueError("backend must be 'numpy' or 'torch'")
        if isinstance(self.prior_a, str) and self.prior_a != "auto":
            raise ValueError("prior_a must be (mu, sigma), None or 'auto'")
        if isinstance(self.prior_a, tuple) and self.prior_a[1] <= 0:
            raise ValueError("prior_a sigma must be positive")
        if self.prior_c is not None and min(self.prior_c) < 1:
            raise ValueError("prior_c alpha and beta must be >= 1 (a proper, unimodal Beta)")
        if self.max_iter < 1 or self.tol <= 0 or self.newton_steps < 1:
            raise ValueError("max_iter and newton_steps must be >= 1 and tol > 0")

    @property
    def n_free(self) -> int:
        """Free parameters per item (the 1PL's common slope is counted once, elsewhere)."""
        return {"1pl": 1, "2pl": 2, "3pl": 3}[self.model]

    @property
    def slope_prior(self) -> tuple[float, float] | None:
        """The lognormal (mu, sigma) prior on a actually used, with "auto" resolved."""
        if self.prior_a == "auto":
            return (0.0, 1.0) if self.model == "3pl" else None
        return self.prior_a  # type: ignore[return-value]

    @property
    def guess_prior(self) -> tuple[float, float] | None:
        """The Beta prior on c, used by the 3PL only."""
        return self.prior_c if self.model == "3pl" else None

"""Calibrated score fusion: from retrieval signals to a probability that a passage is relevant.

Why calibrate
-------------
A cosine of 0.55 and a BM25 of 7.3 are on unrelated scales, and a raw BM25
depends on the collection (its idf grows with the number of passages), so a
score from a 30-passage curriculum and one from a 3,000-passage curriculum mean
different things. The tutor needs one scale: "how likely is this passage to
answer the question", so that it can set one threshold ("ground the answer only
above 0.5") and merge hits across curricula.

How
---
1. Each signal is made as collection-independent as it can be before any
   fitting: the dense cosine already is; BM25 is divided by its query's upper
   bound (``BM25.max_score``), the share of the query's weight a passage
   matched; the graph weight (mean ``decay ** hops`` over the passage's concepts) and the
   concept-name match
   are fractions by construction. Two features are relative on purpose:
   ``dense_gap`` and ``bm25_gap``, how far a passage's cosine and BM25 share
   are below the query's best candidate's, which let a clearly better text
   match beat the graph boost when the student asks about something away from
   their concept.
2. Per-signal Platt scaling (a one-feature logistic regression, with Platt's
   smoothed targets) maps the dense and the BM25 signal each to P(relevant),
   fitted on labelled questions. These are the ``p_dense`` / ``p_bm25`` in a
   hit's signals: each is a calibrated opinion by itself.
3. A logistic regression over the per-signal logits plus the graph and
   concept-name features fuses them; its output is the hit's ``score``. The
   fusion is also the re-ranker: candidates are sorted by it.

A logistic model fitted with log loss is calibrated on data like its training
data (its mean prediction matches the base rate in every direction of its
features), which is what makes the fused score a probability rather than an
arbitrary ranking score. For that data to include "this curriculum cannot
answer", ``retrieval.fit_fusion`` also asks every labelled question of the
other curricula, where no candidate is relevant; without those rows a
relative feature such as ``dense_gap`` would teach the model that the best
match is always good. Rank-based normalisation was rejected for the same
reason: it forces the top hit of every query to the same value, even when
nothing in a curriculum is relevant, which is exactly the comparison across
curricula we need to make.
Stacking on the per-signal logits is, as a model family, the same as a logistic
regression on the raw features; we keep the two stages because the per-signal
probabilities are readable on their own and the fused coefficients then say
how much to trust each calibrated signal.

The solver is a plain Newton (IRLS) iteration with an L2 penalty on
standardised features: a few dozen lines, deterministic, no extra dependency.

>>> import numpy as np
>>> x = np.array([[0.1], [0.2], [0.3], [0.7], [0.8], [0.9]]); y = np.array([0, 0, 0, 1, 1, 1])
>>> model = LogisticRegression(l2=0.1).fit(x, y)
>>> bool(model.predict_proba(np.array([[0.95]]))[0] > 0.9)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Columns of the feature matrix the retriever builds, in order.
FEATURES = ("dense", "bm25", "dense_gap", "bm25_gap", "graph", "has_concept", "name_match")
_EPS = 1e-6


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, written with tanh so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class LogisticRegression:
    """L2-penalised logistic regression fitted by Newton's method; targets may be soft (in [0, 1]).

    Features are standardised for the fit, so the penalty treats them alike,
    and the coefficients are mapped back to the raw features afterwards:
    ``coef_`` and ``intercept_`` apply to unscaled inputs.
    """

    def __init__(self, l2: float = 1.0, max_iter: int = 100, tol: float = 1e-8) -> None:
        self.l2 = l2
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> LogisticRegression:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(y) or len(X) == 0:
            raise ValueError(f"need X (n, d) and y (n,) with n > 0, got {X.shape} and {y.shape}")
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        mean = np.average(X, axis=0, weights=weight)
        scale = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=weight))
        scale[scale < 1e-12] = 1.0
        A = np.hstack([np.ones((len(X), 1)), (X - mean) / scale])
        penalty = np.full(A.shape[1], float(self.l2))
        penalty[0] = 1e-9  # the intercept is not shrunk
        w = np.zeros(A.shape[1])
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            p = sigmoid(A @ w)
            gradient = A.T @ (weight * (p - y)) + penalty * w
            hessian = (A * (weight * p * (1 - p))[:, None]).T @ A + np.diag(penalty)
            step = np.linalg.solve(hessian, gradient)
            w -= step
            if np.max(np.abs(step)) < self.tol:
                break
        self.coef_ = w[1:] / scale
        self.intercept_ = float(w[0] - self.coef_ @ mean)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(y = 1) for each row (a 1-D array, unlike scikit-learn's two columns)."""
        return sigmoid(self.decision_function(X))


class PlattCalibrator:
    """Platt scaling of one score: ``P(relevant | s) = sigmoid(a * s + b)``.

    Fitted on Platt's smoothed targets, ``(n+ + 1) / (n+ + 2)`` for positives
    and ``1 / (n- + 2)`` for negatives, so a signal that separates the labelled
    set perfectly still gets finite, not 0/1, probabilities.
    """

    def __init__(self, l2: float = 1e-3) -> None:
        self.l2 = l2

    def fit(self, scores: np.ndarray, labels: np.ndarray) -> PlattCalibrator:
        labels = np.asarray(labels, dtype=np.float64)
        positives, negatives = labels.sum(), len(labels) - labels.sum()
        targets = np.where(labels > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))
        model = LogisticRegression(l2=self.l2).fit(np.asarray(scores, dtype=np.float64)[:, None], targets)
        self.a_ = float(model.coef_[0])
        self.b_ = float(model.intercept_)
        return self

    def logit(self, scores: np.ndarray) -> np.ndarray:
        return self.a_ * np.asarray(scores, dtype=np.float64) + self.b_

    def predict_proba(self, scores: np.ndarray) -> np.ndarray:
        return sigmoid(self.logit(scores))


class ScoreFusion:
    """Per-signal Platt calibration of the dense and BM25 signals, then a logistic fusion of all features.

    ``fit(X, y)`` takes the retriever's feature matrix (columns ``FEATURES``)
    for every candidate of every labelled question, and whether each candidate
    is relevant. ``score(X)`` is the fused P(relevant). ``to_dict`` /
    ``from_dict`` move a fitted fusion around as plain numbers;
    ``ScoreFusion.default()`` is the one shipped in ``DEFAULT_FUSION``.
    """

    def __init__(self, l2: float = 1.0) -> None:
        self.l2 = l2

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> ScoreFusion:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.shape[1] != len(FEATURES):
            raise ValueError(f"expected {len(FEATURES)} feature columns {FEATURES}, got {X.shape[1]}")
        if not 0 < y.sum() < len(y):
            raise ValueError("fitting needs both relevant and non-relevant candidates")
        self.platt_dense_ = PlattCalibrator().fit(X[:, 0], y)
        self.platt_bm25_ = PlattCalibrator().fit(X[:, 1], y)
        self.model_ = LogisticRegression(l2=self.l2).fit(self._design(X), y, sample_weight)
        return self

    def _design(self, X: np.ndarray) -> np.ndarray:
        return np.column_stack([self.platt_dense_.logit(X[:, 0]), self.platt_bm25_.logit(X[:, 1]), X[:, 2:]])

    def signal_probabilities(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The per-signal calibrated probabilities ``(p_dense, p_bm25)``."""
        X = np.asarray(X, dtype=np.float64)
        return self.platt_dense_.predict_proba(X[:, 0]), self.platt_bm25_.predict_proba(X[:, 1])

    def score(self, X: np.ndarray) -> np.ndarray:
        """Fused P(relevant) for each row of the feature matrix."""
        return self.model_.predict_proba(self._design(np.asarray(X, dtype=np.float64)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "platt_dense": [self.platt_dense_.a_, self.platt_dense_.b_],
            "platt_bm25": [self.platt_bm25_.a_, self.platt_bm25_.b_],
            "coef": [float(c) for c in self.model_.coef_],
            "intercept": self.model_.intercept_,
        }

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> ScoreFusion:
        if list(params["features"]) != list(FEATURES):
            raise ValueError(f"coefficients are for features {params['features']}, this code uses {FEATURES}")
        fusion = cls()
        fusion.platt_dense_ = PlattCalibrator()
        fusion.platt_dense_.a_, fusion.platt_dense_.b_ = params["platt_dense"]
        fusion.platt_bm25_ = PlattCalibrator()
        fusion.platt_bm25_.a_, fusion.platt_bm25_.b_ = params["platt_bm25"]
        fusion.model_ = LogisticRegression(l2=fusion.l2)
        fusion.model_.coef_ = np.asarray(params["coef"], dtype=np.float64)
        fusion.model_.intercept_ = float(params["intercept"])
        return fusion

    @classmethod
    def default(cls) -> ScoreFusion:
        """The fusion fitted on all of ``bench/data/retrieval_questions.yaml`` (see ``DEFAULT_FUSION``)."""
        return cls.from_dict(DEFAULT_FUSION)


# Fitted by `.venv/bin/python bench/retrieval.py --fit-defaults` on every labelled question of
# bench/data/retrieval_questions.yaml (both demo curricula, all-MiniLM-L6-v2 embeddings); refit and paste
# when the features, the candidate generation or the question set change. The benchmark never scores
# these: it refits inside each cross-validation fold.
DEFAULT_FUSION: dict[str, Any] = {
    "features": list(FEATURES),
    "platt_dense": [12.6226, -8.7878],
    "platt_bm25": [10.2379, -5.0437],
    "coef": [0.3928, 0.3245, -17.2315, -5.3360, 3.3988, -1.0901, 0.9449],
    "intercept": 1.3474,
}

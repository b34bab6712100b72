"""The product's mastery model: performance-factors logistic regression with learner ability and recency.

Why this model
--------------
Plain BKT (``bkt.py``) treats every student alike and each skill in isolation:
a strong student starts every new skill at the same prior, and BKT's
two-state, no-forgetting assumption cannot express "she got the last three
wrong". Performance Factors Analysis (Pavlik, Cen & Koedinger 2009) models
P(correct) directly as a logistic function of a concept's difficulty and of
how many successes and failures the learner has had on it, with
concept-specific slopes; adding a learner-ability term and recency features
(the "R-PFA" idea of Galyardt & Goldin 2015, and the "Best-LR" of Gervet et
al. 2020, which matches deep knowledge tracing on ASSISTments) keeps it a
convex, interpretable model whose every coefficient can be read, while it
beats BKT on next-response AUC (0.83 vs 0.74 on ASSISTments 2009, see
``bench/mastery.py``)::

    logit P(correct on k) = b + beta_k + gamma_k log(1 + S_k) + rho_k log(1 + F_k)
                          + w . [recent_k, last_k,                         # this concept, lately
                                 log((S + 1) / (F + 1)),                   # ability over all concepts
                                 last, recent]                             # the learner, lately

``S_k, F_k`` are the learner's weighted successes and failures on k and
``S, F`` over all concepts; ``recent`` is an exponentially weighted average
of +1/-1 outcomes and ``last`` the last one (``state.Counters``). The ability
term is the student's running estimate, so no per-student parameter is
fitted and a new student needs none.

Two constraints make it a *mastery* model and not only a predictor (see
``fitting.py``): every learner-level weight ``w`` and every success slope
``gamma_k`` is >= 0 and every failure slope ``rho_k`` <= 0, so each success
raises mastery and each failure lowers it, by construction. (Unconstrained,
the ASSISTments success slope comes out negative: in a skill builder the
students who needed many items are those who struggled.) ``beta_k`` is
shrunk toward 0 and ``gamma_k``, ``rho_k`` toward fitted pooled slopes, so a
concept the model was never fitted on (every new curriculum's) gets the
pooled values: the Gaussian prior that the L2 penalty is.

Online use is cheap and exact: the state is a few counters (``state.py``), an
update changes them (microseconds), and ``mastery(k)`` is one dot product. The
features are computed by the same code in ``fit`` as online, so the fitted
model is the one that runs. ``mastery(k)`` is the model's probability that the
learner answers the next item on k correctly: the one quantity here that can
be checked against data, and what ``knowledge_graph``'s threshold ``tau``
reads.

Evidence is weighted: an assessment item counts 1, a tutored subproblem
``subproblem_weight`` (it was scaffolded), a hint request is a failure of
``hint_weight`` (weak negative evidence), and graph propagation adds
discounted ``inferred`` evidence that moves only the concept's own counters,
never the learner-wide ones (which would count the same answer twice).

>>> history = [(["a"] * 3, [1, 1, 1]), (["a"] * 3, [0, 0, 0]), (["a"] * 3, [0, 1, 1])]
>>> model = MasteryModel(MasteryConfig(max_iter=100)).fit(history * 10)
>>> learner = model.learner()
>>> before = learner.mastery("a")
>>> learner.update(Evidence("a", True))
>>> learner.mastery("a") > before
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import networkx as nx
import numpy as np

from models.mastery.bkt import _as_pairs
from models.mastery.fitting import fit_pfa
from models.mastery.propagation import PropagationConfig, propagate, readiness
from models.mastery.state import Counters, Evidence, LearnerState

# Learner-level features, each rising with a success and falling with a failure; their weights are fitted >= 0.
SHARED = ("recent", "last", "ability", "overall_last", "overall_recent")


_FITTED = ("intercept", "coef", "beta", "gamma", "rho", "pooled_gamma", "pooled_rho")


@dataclass(frozen=True)
class MasteryConfig:
    """Regularisation and fitting settings, evidence weights and the recency decay."""

    C: float = 1.0  # inverse L2 strength (sklearn's); shrinks per-concept terms toward the pooled ones
    max_iter: int = 500  # L-BFGS-B iterations
    decay: float = 0.7  # weight of the old value in the recency averages
    subproblem_weight: float = 0.7
    hint_weight: float = 0.3
    features: tuple[str, ...] = SHARED  # the learner-level features used; fewer for ablations (plain PFA: ())


def _features(overall: Counters, c: Counters | None) -> tuple[list[float], float, float]:
    """The ``SHARED`` feature values, and log(1 + S_k), log(1 + F_k) for the per-concept slopes."""
    if c is None:
        c = Counters()
    ability = math.log((overall.successes + 1.0) / (overall.failures + 1.0))
    x = [c.recent, c.last, ability, overall.last, overall.recent]
    return x, math.log1p(c.successes), math.log1p(c.failures)


class MasteryModel:
    """Fitted PFA-with-ability parameters; learner state lives outside it (``LearnerState``).

    Learned attributes: ``intercept_``, ``coef_`` (``SHARED`` name -> weight,
    all >= 0), ``beta_``, ``gamma_`` (>= 0), ``rho_`` (<= 0): concept -> its
    offset, success slope and failure slope; ``pooled_gamma_``,
    ``pooled_rho_``: the slopes of a concept not seen in ``fit``; ``n_iter_``
    and ``converged_`` report the L-BFGS-B run (not stored by ``to_dict``).
    """

    def __init__(self, config: MasteryConfig | None = None) -> None:
        self.config = config or MasteryConfig()

    # -- evidence -> state ---------------------------------------------------------------------------------
    def evidence_weight(self, e: Evidence) -> float:
        """The weight ``e`` counts with: its own weight times its kind's."""
        kind = {"item": 1.0, "subproblem": self.config.subproblem_weight, "hint": self.config.hint_weight}[e.kind]
        return e.weight * kind

    def apply(self, state: LearnerState, e: Evidence) -> None:
        """Count ``e`` in ``state`` (in place). Inferred evidence touches only its concept's counters."""
        w = self.evidence_weight(e)
        state.concept(e.concept).add(e.positive, w, self.config.decay)
        if not e.inferred:
            state.overall.add(e.positive, w, self.config.decay)
            state.n_evidence += 1

    # -- state -> probability ------------------------------------------------------------------------------
    def logit(self, state: LearnerState, concept: str) -> float:
        x, ls, lf = _features(state.overall, state.concepts.get(concept))
        z = self.intercept_ + sum(w * v for w, v in zip(self._w, x, strict=True)) + self.beta_.get(concept, 0.0)
        return z + self.gamma_.get(concept, self.pooled_gamma_) * ls + self.rho_.get(concept, self.pooled_rho_) * lf

    def mastery(self, state: LearnerState, concept: str) -> float:
        """P(the learner answers the next item on ``concept`` correctly)."""
        return 1.0 / (1.0 + math.exp(-self.logit(state, concept)))

    def learner(self, state: LearnerState | None = None, graph: nx.DiGraph | None = None, **kw) -> Learner:
        """A ``Learner`` over this model; ``kw`` goes to ``Learner`` (``propagation``)."""
        return Learner(self, state or LearnerState(), graph, **kw)

    # -- fitting -------------------------------------------------------------------------------------------
    def fit(self, sequences: Iterable) -> MasteryModel:
        """Fit on response sequences (``data.Sequence`` or (concepts, correct) pairs), all counted as items.

        Each response's features are computed from the learner's state *before*
        it, by replaying the sequence through ``apply``: exactly what runs online.
        """
        pairs = _as_pairs(sequences)
        concepts = sorted({k for skills, _ in pairs for k in skills})
        index = {k: i for i, k in enumerate(concepts)}
        dense, rows, y = [], [], []
        for skills, correct in pairs:
            state = LearnerState()
            for k, c in zip(skills, correct, strict=True):
                x, ls, lf = _features(state.overall, state.concepts.get(k))
                dense.append(x)
                rows.append((index[k], ls, lf))
                y.append(float(c))
                self.apply(state, Evidence(k, bool(c)))
        cfg = self.config
        dense = np.asarray(dense)
        dense[:, [name not in cfg.features for name in SHARED]] = 0.0  # an ablated feature's weight stays 0
        f = fit_pfa(dense, np.asarray(rows), np.asarray(y), len(concepts), cfg.C, cfg.max_iter)
        self._set(
            intercept=f.b,
            coef=dict(zip(SHARED, map(float, f.w), strict=True)),
            beta=dict(zip(concepts, map(float, f.beta), strict=True)),
            gamma=dict(zip(concepts, map(float, f.gamma), strict=True)),
            rho=dict(zip(concepts, map(float, f.rho), strict=True)),
            pooled_gamma=f.g,
            pooled_rho=f.r,
        )
        self.n_iter_, self.converged_ = f.n_iter, f.converged
        return self

    def _set(self, **fitted: float | dict[str, float]) -> None:
        for name in _FITTED:
            setattr(self, name + "_", fitted[name])
        self._w = [self.coef_[name] for name in SHARED]  # the dot product's order, looked up once

    def predict_proba(self, sequences: Iterable) -> np.ndarray:
        """P(correct) of every response from the same learner's earlier ones (online), concatenated."""
        out = []
        for skills, correct in _as_pairs(sequences):
            state = LearnerState()
            for k, c in zip(skills, correct, strict=True):
                out.append(self.mastery(state, k))
                self.apply(state, Evidence(k, bool(c)))
        return np.asarray(out)

    # -- persistence ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Config and fitted parameters as JSON-able data."""
        return {"config": asdict(self.config)} | {name: getattr(self, name + "_") for name in _FITTED}

    @classmethod
    def from_dict(cls, d: dict) -> MasteryModel:
        model = cls(MasteryConfig(**d["config"] | {"features": tuple(d["config"]["features"])}))
        model._set(**{name: d[name] for name in _FITTED})
        return model


class Learner:
    """One learner's live view: feed ``Evidence``, read ``mastery`` and ``readiness``.

    With a ``graph``, each update also applies the ``propagate``d evidence to
    the prerequisites (success) or dependents (failure) of the concept.
    """

    def __init__(
        self,
        model: MasteryModel,
        state: LearnerState,
        graph: nx.DiGraph | None = None,
        propagation: PropagationConfig | None = None,
    ) -> None:
        self.model, self.state, self.graph = model, state, graph
        self.propagation = propagation or PropagationConfig()

    def update(self, evidence: Evidence) -> None:
        """Count one piece of evidence, then what it implies along the graph."""
        self.model.apply(self.state, evidence)
        if self.graph is not None and not evidence.inferred:
            for inferred in propagate(self.graph, self.mastery, evidence, self.propagation):
                self.model.apply(self.state, inferred)

    def mastery(self, concept: str) -> float:
        return self.model.mastery(self.state, concept)

    def masteries(self, concepts: Iterable[str] | None = None) -> dict[str, float]:
        """Mastery of ``concepts`` (default: every concept of the graph, else every concept seen)."""
        if concepts is None:
            concepts = self.graph.nodes if self.graph is not None else self.state.concepts
        return {c: self.mastery(c) for c in concepts}

    def readiness(self, concept: str) -> float:
        """``propagation.readiness`` of ``concept`` with this learner's masteries (needs a graph)."""
        if self.graph is None:
            raise ValueError("readiness needs the learner's concept graph")
        return readiness(self.graph, concept, self.mastery)

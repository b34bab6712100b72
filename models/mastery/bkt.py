"""Plain Bayesian Knowledge Tracing (Corbett & Anderson 1995): the baseline the product model must beat.

Each skill is a two-state hidden Markov model: the student either knows it or
not. ``p_init`` is P(known) before the first response, ``p_learn`` the chance
of moving from unknown to known after each response (no forgetting: known
stays known), ``p_guess`` P(correct | unknown), ``p_slip`` P(wrong | known).

Fitting is Baum-Welch EM (forward-backward with per-step normalisation), each
skill over all students' sub-sequences for that skill; the
sub-sequences of all skills are fitted together, stored time-major and sorted
by length, so step ``t`` is one numpy operation on the sub-sequences still
running and per-skill sums are ``np.bincount``. Unconstrained BKT often lands on degenerate optima
(guess or slip above 0.5: "knowing makes you worse", Baker et al. 2008), so
after each M-step guess and slip are clipped below ``max_guess`` / ``max_slip``
(0.3). That is projected EM: the likelihood is then no longer guaranteed to
rise every iteration, but it keeps the parameters interpretable, which is the
point of BKT.

>>> model = BKT(BKTConfig(n_iter=5)).fit([(["a"] * 4, [0, 1, 1, 1])] * 20)
>>> p = model.params_["a"]
>>> 0 < p.p_guess < 0.3 and 0 < p.p_slip < 0.3
True
>>> state = model.initial_state("a")
>>> model.update(state, True).p_known > state.p_known
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

# A sequence is (skills, outcomes): skills[t] answered correct[t] (1/0), as in ``data.Sequence``.
Responses = tuple[Sequence[str], Sequence[int]]

_EPS = 1e-12
_FLOOR = 1e-3  # no probability is fitted to 0 or 1: one surprising response must not be impossible


@dataclass(frozen=True)
class BKTParams:
    """The four BKT probabilities of one skill."""

    p_init: float = 0.4
    p_learn: float = 0.1
    p_guess: float = 0.2
    p_slip: float = 0.1

    def p_correct(self, p_known: float) -> float:
        """P(next response correct) when P(known) is ``p_known``."""
        return p_known * (1.0 - self.p_slip) + (1.0 - p_known) * self.p_guess


@dataclass(frozen=True)
class BKTConfig:
    """EM settings and the parameter constraints."""

    n_iter: int = 100
    tol: float = 1e-5
    max_guess: float = 0.3
    max_slip: float = 0.3
    start: BKTParams = BKTParams()


@dataclass(frozen=True)
class BKTState:
    """One student's P(known) of one skill."""

    skill: str
    p_known: float


def _as_pairs(sequences: Iterable) -> list[Responses]:
    # Accept ``data.Sequence`` objects or plain (skills, correct) pairs.
    return [(s.skills, s.correct) if hasattr(s, "skills") else (s[0], s[1]) for s in sequences]


def _by_skill(sequences: list[Responses]) -> dict[str, list[np.ndarray]]:
    """Each student's outcomes split into one sub-sequence per skill, in order."""
    out: dict[str, list[np.ndarray]] = defaultdict(list)
    for skills, correct in sequences:
        per: dict[str, list[int]] = defaultdict(list)
        for k, c in zip(skills, correct, strict=True):
            per[k].append(int(c))
        for k, obs in per.items():
            out[k].append(np.asarray(obs, dtype=np.float64))
    return out


class _Ragged:
    """Every skill's sub-sequences at once, stored time-major so step ``t`` is one slice.

    Rows (one per student and skill) are sorted longest first, so the rows still
    running at step ``t`` are ``0 .. active[t] - 1`` and their outcomes sit at
    ``flat[offset[t] : offset[t] + active[t]]``: no padding, the whole data set
    in arrays of its own size, and each EM pass is ``max length`` numpy steps
    over all skills together.
    """

    def __init__(self, rows: list[tuple[int, np.ndarray]]) -> None:
        rows = sorted(rows, key=lambda r: len(r[1]), reverse=True)
        self.row_skill = np.array([k for k, _ in rows])
        lengths = np.array([len(o) for _, o in rows])
        self.active = (lengths[None, :] > np.arange(lengths[0])[:, None]).sum(axis=1)
        self.offset = np.concatenate([[0], np.cumsum(self.active)])
        self.flat = np.concatenate(_time_major(rows, self.active)).astype(np.float64)
        self.row_of = np.concatenate([np.arange(m) for m in self.active])
        self.skill_of = self.row_skill[self.row_of]
        # A position is the last of its row when the row is no longer active at the next step.
        nxt = np.append(self.active[1:], 0)
        self.is_last = np.concatenate([np.arange(m) >= nxt[t] for t, m in enumerate(self.active)])

    def at(self, t: int) -> slice:
        return slice(self.offset[t], self.offset[t] + self.active[t])


def _time_major(rows: list[tuple[int, np.ndarray]], active: np.ndarray) -> list[np.ndarray]:
    return [np.array([rows[i][1][t] for i in range(m)]) for t, m in enumerate(active)]


def _em_step(data: _Ragged, p: np.ndarray, n_skills: int) -> tuple[np.ndarray, np.ndarray]:
    """One forward-backward pass; ``p`` is (n_skills, 4) = init, learn, guess, slip. Returns new ``p``, loglik."""
    init, learn, guess, slip = (p[data.row_skill, j] for j in range(4))
    obs = data.flat
    sk = data.skill_of
    emit_k = np.where(obs == 1, 1 - slip[data.row_of], slip[data.row_of])  # P(obs | known)
    emit_u = np.where(obs == 1, guess[data.row_of], 1 - guess[data.row_of])  # P(obs | unknown)
    alpha = np.empty_like(obs)  # P(known at t | obs up to t)
    scale = np.empty_like(obs)  # P(obs at t | obs before t)
    prior = init.copy()  # P(known at t | obs before t)
    for t, m in enumerate(data.active):
        s = data.at(t)
        k = prior[:m] * emit_k[s]
        scale[s] = k + (1 - prior[:m]) * emit_u[s]
        alpha[s] = np.clip(k / scale[s], _EPS, 1 - _EPS)  # never certain: keeps the backward pass finite
        prior[:m] = alpha[s] + (1 - alpha[s]) * learn[:m]
    # Backward messages P(obs after t | state at t), renormalised to sum 1 each step (long rows would
    # overflow otherwise); gamma and xi below are normalised explicitly, so the scale cancels.
    b_k = np.full(len(init), 0.5)
    b_u = np.full(len(init), 0.5)
    g_k = np.empty_like(obs)
    learn_num = np.zeros(len(init))
    for t in range(len(data.active) - 1, -1, -1):
        m, s = data.active[t], data.at(t)
        num = alpha[s] * b_k[:m]
        g_k[s] = num / (num + (1 - alpha[s]) * b_u[:m])
        if t:
            ek = emit_k[s] * b_k[:m]
            eu = emit_u[s] * b_u[:m]
            a = alpha[data.at(t - 1)][:m]  # P(known at t-1 | obs up to t-1)
            move = (1 - a) * learn[:m] * ek
            learn_num[:m] += move / (a * ek + move + (1 - a) * (1 - learn[:m]) * eu)  # xi(unknown -> known)
            bk, bu = ek, learn[:m] * ek + (1 - learn[:m]) * eu
            b_k[:m], b_u[:m] = bk / (bk + bu), bu / (bk + bu)
            b_k[m : data.active[t - 1]] = 0.5
            b_u[m : data.active[t - 1]] = 0.5
    g_u = 1 - g_k

    def per_skill(values: np.ndarray, skills: np.ndarray = sk) -> np.ndarray:
        return np.bincount(skills, weights=values, minlength=n_skills)

    rows = np.bincount(data.row_skill, minlength=n_skills)
    new = np.column_stack(
        [
            per_skill(g_k[data.at(0)], data.row_skill) / np.maximum(rows, 1),
            per_skill(learn_num, data.row_skill) / np.maximum(per_skill(g_u * ~data.is_last), _EPS),
            per_skill(g_u * obs) / np.maximum(per_skill(g_u), _EPS),
            per_skill(g_k * (1 - obs)) / np.maximum(per_skill(g_k), _EPS),
        ]
    )
    return new, per_skill(np.log(scale))


class BKT:
    """Per-skill BKT fitted by EM; skills never seen in ``fit`` use ``default_params_`` (the pooled fit).

    Learned attributes: ``params_`` (skill -> ``BKTParams``), ``default_params_``, ``loglik_`` (per skill,
    at the last E-step), ``n_iter_`` (EM iterations run).
    """

    def __init__(self, config: BKTConfig | None = None) -> None:
        self.config = config or BKTConfig()

    def _constrain(self, p: np.ndarray) -> np.ndarray:
        c = self.config
        lo = np.array([_FLOOR, _FLOOR, _FLOOR, _FLOOR])
        hi = np.array([1 - _FLOOR, 1 - _FLOOR, c.max_guess - _FLOOR, c.max_slip - _FLOOR])
        return np.clip(np.nan_to_num(p, nan=0.5), lo, hi)

    def fit(self, sequences: Iterable) -> BKT:
        """Fit each skill's parameters on ``sequences`` (``data.Sequence`` or (skills, correct) pairs)."""
        per_skill = _by_skill(_as_pairs(sequences))
        skills = list(per_skill)
        data = _Ragged([(i, o) for i, k in enumerate(skills) for o in per_skill[k]])
        start = self.config.start
        p = np.tile([start.p_init, start.p_learn, start.p_guess, start.p_slip], (len(skills), 1))
        prev = np.full(len(skills), -np.inf)
        n_obs = np.bincount(data.skill_of, minlength=len(skills))
        self.n_iter_ = 0
        for _ in range(self.config.n_iter):
            self.n_iter_ += 1
            new, loglik = _em_step(data, p, len(skills))
            p = self._constrain(new)
            if np.all((loglik - prev) / n_obs < self.config.tol):  # per-response log-likelihood gain
                break
            prev = loglik
        self.params_: dict[str, BKTParams] = {k: BKTParams(*map(float, p[i])) for i, k in enumerate(skills)}
        self.loglik_: dict[str, float] = {k: float(loglik[i]) for i, k in enumerate(skills)}
        # Unseen skills get the response-weighted mean of the fitted ones: a cheap pooled estimate.
        self.default_params_ = BKTParams(*map(float, np.average(p, axis=0, weights=n_obs)))
        return self

    def skill_params(self, skill: str) -> BKTParams:
        return self.params_.get(skill, self.default_params_)

    def initial_state(self, skill: str) -> BKTState:
        return BKTState(skill, self.skill_params(skill).p_init)

    def predict_next(self, state: BKTState) -> float:
        """P(the next response on ``state.skill`` is correct)."""
        return self.skill_params(state.skill).p_correct(state.p_known)

    def update(self, state: BKTState, correct: bool) -> BKTState:
        """Bayes' rule on one response, then the learning transition. Returns a new state."""
        p = self.skill_params(state.skill)
        k = state.p_known
        if correct:
            post = k * (1 - p.p_slip) / (k * (1 - p.p_slip) + (1 - k) * p.p_guess)
        else:
            post = k * p.p_slip / (k * p.p_slip + (1 - k) * (1 - p.p_guess))
        return BKTState(state.skill, post + (1 - post) * p.p_learn)

    def predict_proba(self, sequences: Iterable) -> np.ndarray:
        """P(correct) of every response given the same student's earlier ones, all sequences concatenated."""
        out = []
        for skills, correct in _as_pairs(sequences):
            states: dict[str, BKTState] = {}
            for k, c in zip(skills, correct, strict=True):
                s = states.get(k) or self.initial_state(k)
                out.append(self.predict_next(s))
                states[k] = self.update(s, bool(c))
        return np.asarray(out)

    def to_dict(self) -> dict:
        """The fitted parameters as plain JSON-able data."""
        return {"params": {k: asdict(p) for k, p in self.params_.items()}, "default": asdict(self.default_params_)}

"""IRTModel: 1PL/2PL/3PL calibration by marginal maximum likelihood (Bock-Aitkin EM).

Why EM on sparse logs: tutoring logs are long and ragged (each student sees a
few of thousands of items). The E-step is two sparse products (see
``sparse.py``), so a fit costs O(responses * n_quad) per iteration and never
materialises a persons x items matrix.

Standard errors, two ways (``se_method``), mapped to (a, b, c) by the delta method:

* ``"complete"``: the negative Hessian of each item's M-step objective at
  convergence. Cheap (one batched 3x3 per item) but it is the complete-data
  information, which ignores the uncertainty in theta, so SEs come out too
  small, badly so with few items per person (LSAT7: about 0.6x mirt's).
* ``"louis"``: the observed information of the marginal likelihood by Louis's
  identity (``information.py``): one pass over persons, time
  persons x nodes x parameters^2. ``"auto"`` uses it while that is under 2e10
  (a few seconds) and there are at most 2,000 parameters, else ``"complete"``.
* ``"oakes"``: the same matrix another way, kept as a cross-check: by
  Fisher's identity the marginal score is the M-step score with the E-step
  at the same parameters; we difference it numerically (two E-steps per free
  parameter). Exact but O(parameters) E-steps.

Inverting the full matrix, the marginal SEs match R/PyPI mirt on LSAT7 to
about 0.003.

Degenerate items (answered only right, only wrong, or never) have no finite
maximum-likelihood estimate; they are excluded from calibration, listed in
``degenerate_items_`` with the reason in ``degenerate_reasons_``, and get NaN
parameters, which scoring and item selection skip.

>>> rng = np.random.default_rng(0)
>>> person = np.repeat(np.arange(300), 5); item = np.tile(np.arange(5), 300)
>>> correct = (rng.random(1500) < 0.6).astype(int)
>>> model = IRTModel(model="1pl").fit(person, item, correct)
>>> model.item_params_.b.shape, bool(np.isfinite(model.loglik_))
((5,), True)
"""

from __future__ import annotations

import numpy as np

from .config import IRTConfig
from .information import louis_information
from .items import ItemParams, clip_params, m_step, observed_hessian, score_and_info, to_irt
from .quadrature import normal_quadrature
from .scoring import check_logs, eap, map_theta
from .sparse import SparseDesign


class IRTModel:
    """Unidimensional dichotomous IRT model fitted to long-format (person, item, correct) logs.

    Parameters mirror :class:`IRTConfig`; ``n_items`` fixes the item count
    (default: largest item id + 1); ``se_method`` is "auto", "louis", "oakes"
    or "complete" (module docstring). Learned attributes end in ``_``:
    ``item_params_`` (a, b, c; c = 0 for 1PL/2PL), ``se_`` (same shape; se of a
    fixed c is 0), ``se_method_``, ``loglik_`` (marginal log-likelihood at the
    final parameters, priors excluded), ``loglik_history_``, ``n_iter_``,
    ``converged_``, ``degenerate_items_`` and ``degenerate_reasons_``.
    """

    def __init__(
        self,
        model: str = "2pl",
        n_quad: int = 41,
        quadrature: str = "gauss-hermite",
        max_iter: int = 500,
        tol: float = 1e-4,
        prior_a: tuple[float, float] | str | None = "auto",
        prior_c: tuple[float, float] | None = (5.0, 17.0),
        newton_steps: int = 2,
        backend: str = "numpy",
        device: str | None = None,
        n_items: int | None = None,
        se_method: str = "auto",
        verbose: bool = False,
    ) -> None:
        self.model = model
        self.n_quad = n_quad
        self.quadrature = quadrature
        self.max_iter = max_iter
        self.tol = tol
        self.prior_a = prior_a
        self.prior_c = prior_c
        self.newton_steps = newton_steps
        self.backend = backend
        self.device = device
        self.n_items = n_items
        self.se_method = se_method
        self.verbose = verbose

    @property
    def config(self) -> IRTConfig:
        """The validated hyperparameters."""
        return IRTConfig(
            model=self.model,
            n_quad=self.n_quad,
            quadrature=self.quadrature,
            max_iter=self.max_iter,
            tol=self.tol,
            prior_a=self.prior_a,
            prior_c=self.prior_c,
            newton_steps=self.newton_steps,
            backend=self.backend,
            device=self.device,
        )

    def fit(self, person, item, correct) -> IRTModel:
        """Calibrate item parameters from equal-length integer arrays of responses."""
        cfg = self.config
        person, item, correct = check_logs(person, item, correct)
        if len(person) == 0:
            raise ValueError("no responses to fit")
        n_items = self.n_items if self.n_items is not None else int(item.max()) + 1
        if item.max() >= n_items:
            raise ValueError("an item id is >= n_items")
        n_resp = np.bincount(item, minlength=n_items)
        n_right = np.bincount(item, weights=correct, minlength=n_items)
        reasons = {}
        for i in np.flatnonzero(n_resp == 0):
            reasons[int(i)] = "no responses"
        for i in np.flatnonzero((n_resp > 0) & (n_right == n_resp)):
            reasons[int(i)] = "all correct"
        for i in np.flatnonzero((n_resp > 0) & (n_right == 0)):
            reasons[int(i)] = "all wrong"
        ok = np.ones(n_items, bool)
        ok[list(reasons)] = False
        self.degenerate_items_ = np.array(sorted(reasons), dtype=np.int64)
        self.degenerate_reasons_ = reasons
        if not ok.any():
            raise ValueError("every item is degenerate (all right, all wrong or unanswered)")

        keep = ok[item]
        _, person_idx = np.unique(person[keep], return_inverse=True)
        design = SparseDesign(
            person_idx, 2 * item[keep] + correct[keep], int(person_idx.max()) + 1, 2 * n_items, cfg.backend, cfg.device
        )
        nodes, log_w = normal_quadrature(cfg.n_quad, cfg.quadrature)
        prior_a, prior_c = cfg.slope_prior, cfg.guess_prior

        # Start: a = 1, d from the observed proportion correct (marginalised logit), c at its prior mode.
        p_obs = np.clip(n_right[ok] / n_resp[ok], 0.02, 0.98)
        u = np.zeros((int(ok.sum()), 3 if cfg.model == "3pl" else 2))
        u[:, 0] = 1.0
        u[:, 1] = np.log(p_obs / (1 - p_obs)) * np.sqrt(1 + np.pi / 8)
        if cfg.model == "3pl":
            alpha, beta = prior_c or (5.0, 17.0)
            c0 = (alpha - 1) / (alpha + beta - 2)
            u[:, 2] = np.log(c0 / (1 - c0))
            u[:, 1] -= 0.5  # guessing inflates p; start the intercept lower
        clip_params(u)

        self.loglik_history_ = []
        self.converged_ = False
        for it in range(1, cfg.max_iter + 1):
            r, n = self._e_step(design, u, ok, nodes, log_w)
            new_u = m_step(u, nodes, r, n, cfg.model, prior_a, prior_c, steps=cfg.newton_steps)
            change = self._max_change(u, new_u)
            u = new_u
            self.n_iter_ = it
            if self.verbose and it % 10 == 0:
                print(f"iter {it}: loglik {self.loglik_history_[-1]:.3f} change {change:.2e}")
            if change < cfg.tol:
                self.converged_ = True
                break
        r, n = self._e_step(design, u, ok, nodes, log_w)
        self.loglik_ = self.loglik_history_[-1]
        method = self.se_method
        n_params = u.shape[0] * (1 if cfg.model == "1pl" else u.shape[1]) + (cfg.model == "1pl")
        if method == "auto":
            small = design.n_rows * cfg.n_quad * n_params**2 <= 2e10 and n_params <= 2000
            method = "louis" if small else "complete"
        complete = observed_hessian(u, nodes, r, n, cfg.model, prior_a, prior_c)
        if method == "louis":
            post = design.to_numpy(self._last_post)
            new_item = np.cumsum(ok) - 1  # item id -> row of u
            hess = louis_information(
                u, nodes, post, person_idx, new_item[item[keep]], correct[keep], complete, cfg.model
            )
        elif method == "oakes":
            hess = self._marginal_hessian(design, u, ok, nodes, log_w, prior_a, prior_c)
        elif method == "complete":
            hess = complete
        else:
            raise ValueError("se_method must be 'auto', 'louis', 'oakes' or 'complete'")
        self.se_method_ = method
        self._set_params(u, ok, hess)
        del self._last_post
        return self

    def _marginal_score(self, design, u, ok, nodes, log_w, prior_a, prior_c) -> np.ndarray:
        """Score of the marginal log-posterior (Fisher's identity), flattened as in ``_pack``."""
        r, n = self._e_step(design, u, ok, nodes, log_w, record=False)
        grad, _ = score_and_info(nodes, u, r, n, self.config.model, prior_a, prior_c)
        return _pack(grad, self.config.model, summed=True)

    def _marginal_hessian(self, design, u, ok, nodes, log_w, prior_a, prior_c) -> np.ndarray:
        """Negative Hessian of the marginal log-posterior by central differences of its score."""
        model = self.config.model
        x0 = _pack(u, model)
        hess = np.empty((len(x0), len(x0)))
        for j in range(len(x0)):
            h = 1e-5 * max(1.0, abs(x0[j]))
            up, dn = x0.copy(), x0.copy()
            up[j] += h
            dn[j] -= h
            s_up = self._marginal_score(design, _unpack(up, u.shape, model), ok, nodes, log_w, prior_a, prior_c)
            s_dn = self._marginal_score(design, _unpack(dn, u.shape, model), ok, nodes, log_w, prior_a, prior_c)
            hess[:, j] = -(s_up - s_dn) / (2 * h)
        return 0.5 * (hess + hess.T)

    def _e_step(self, design, u, ok, nodes, log_w, record: bool = True):
        full = np.zeros((len(ok), u.shape[1]))
        full[ok] = u
        full[~ok, 0] = np.nan
        gamma = full[:, 2] if u.shape[1] == 3 else None
        with np.errstate(invalid="ignore"):
            table = to_irt(full[:, 0], full[:, 1], gamma).log_table(nodes)
        post, ll = design.posterior(table, log_w)
        if record:
            self.loglik_history_.append(ll)
            self._last_post = post
        counts = design.expected_counts(post)[np.repeat(ok, 2)]
        r = counts[1::2]
        return r, counts[0::2] + r

    @staticmethod
    def _max_change(u, new_u) -> float:
        """Largest change in (a, b, c): the quantities users read, on their own scale."""
        b_old, b_new = -u[:, 1] / u[:, 0], -new_u[:, 1] / new_u[:, 0]
        change = max(np.abs(new_u[:, 0] - u[:, 0]).max(), np.abs(b_new - b_old).max())
        if u.shape[1] == 3:
            c_old, c_new = 1 / (1 + np.exp(-u[:, 2])), 1 / (1 + np.exp(-new_u[:, 2]))
            change = max(change, np.abs(c_new - c_old).max())
        return float(change)

    def _set_params(self, u: np.ndarray, ok: np.ndarray, hess: np.ndarray) -> None:
        """Store (a, b, c) and their SEs from the (per-item or full) negative Hessian."""
        k = u.shape[1]
        a, d = u[:, 0], u[:, 1]
        cov = _item_covariances(hess, u.shape, self.config.model)
        jac = np.zeros((len(u), 3, k))  # d(a, b, c) / d(a, d[, gamma])
        jac[:, 0, 0] = 1.0
        jac[:, 1, 0] = d / a**2
        jac[:, 1, 1] = -1.0 / a
        if k == 3:
            c = 1 / (1 + np.exp(-u[:, 2]))
            jac[:, 2, 2] = c * (1 - c)
        with np.errstate(invalid="ignore"):
            var = np.einsum("ikl,ilm,ijm->ikj", jac, cov, jac)
            se = np.sqrt(np.diagonal(var, axis1=1, axis2=2))
        params = to_irt(a, d, u[:, 2] if k == 3 else None)
        self.item_params_ = _expand(params, ok)
        self.se_ = _expand(ItemParams(a=se[:, 0], b=se[:, 1], c=se[:, 2]), ok)

    def eap(self, person, item, correct, n_quad: int = 61) -> tuple[np.ndarray, np.ndarray]:
        """EAP theta and posterior SD per person id, with the fitted items (61-point grid by default)."""
        return eap(person, item, correct, self.item_params_, n_quad=n_quad, backend=self.backend)

    def map_theta(self, person, item, correct) -> tuple[np.ndarray, np.ndarray]:
        """MAP theta and its approximate SD per person id, with the fitted items."""
        return map_theta(person, item, correct, self.item_params_)


def _pack(u: np.ndarray, model: str, summed: bool = False) -> np.ndarray:
    """Flatten per-item parameters (or scores) to one vector; the 1PL's shared slope comes first, once.

    For a score, ``summed`` adds the per-item slope scores into the shared slope's entry.
    """
    if model == "1pl":
        head = u[:, 0].sum() if summed else u[0, 0]
        return np.concatenate([[head], u[:, 1]])
    return u.ravel().copy()


def _unpack(x: np.ndarray, shape: tuple[int, int], model: str) -> np.ndarray:
    """Inverse of ``_pack`` for parameters."""
    if model == "1pl":
        u = np.empty(shape)
        u[:, 0], u[:, 1] = x[0], x[1:]
        return u
    return x.reshape(shape).copy()


def _item_covariances(hess: np.ndarray, shape: tuple[int, int], model: str) -> np.ndarray:
    """Per-item (k, k) covariance blocks from a per-item (n, k, k) or a full packed negative Hessian."""
    n, k = shape
    if hess.ndim == 3:
        if model == "1pl":  # the shared slope's information is the sum over items
            cov = np.zeros((n, k, k))
            cov[:, 0, 0] = 1.0 / hess[:, 0, 0].sum()
            cov[:, 1, 1] = 1.0 / hess[:, 1, 1]
            return cov
        return np.linalg.inv(hess + 1e-10 * np.eye(k)[None])
    full = np.linalg.inv(hess + 1e-10 * np.eye(len(hess)))
    if model == "1pl":
        cov = np.empty((n, 2, 2))
        cov[:, 0, 0] = full[0, 0]
        cov[:, 1, 1] = np.diagonal(full)[1:]
        cov[:, 0, 1] = cov[:, 1, 0] = full[0, 1:]
        return cov
    idx = np.arange(n)[:, None] * k + np.arange(k)[None, :]
    return full[idx[:, :, None], idx[:, None, :]]


def _expand(params: ItemParams, ok: np.ndarray) -> ItemParams:
    """Place calibrated items back at their ids; degenerate items get NaN."""

    def put(x, fill):
        out = np.full(len(ok), fill)
        out[ok] = x
        return out

    return ItemParams(a=put(params.a, np.nan), b=put(params.b, np.nan), c=put(params.c, np.nan))

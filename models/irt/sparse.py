"""The E-step on sparse long-format logs, with numpy/scipy or torch.

Why a sparse design matrix: each response (person p, item i, correct u) is one
nonzero S[p, 2i + u] = 1. With T the (2 * n_items, n_quad) table of
log P(wrong)/log P(right) at each node,

* ``S @ T`` is the per-person log-likelihood on the grid: a scatter-add of
  log P over that person's responses;
* ``S.T @ posterior`` is, for every (item, outcome), the expected number of
  such responses at each node: the sufficient statistics of the M-step.

Memory is O(responses + persons * n_quad); a dense persons x items matrix is
never built, and missing responses simply have no nonzero. Repeated
(person, item) pairs count as separate attempts.

>>> design = SparseDesign(np.array([0, 0, 1]), np.array([1, 2, 0]), 2, 4)
>>> design.loglik_grid(np.arange(8.0).reshape(4, 2)).tolist()
[[6.0, 8.0], [0.0, 1.0]]
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp


class SparseDesign:
    """Person x (2 * item + correct) incidence matrix with the two products EM needs."""

    def __init__(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        n_rows: int,
        n_cols: int,
        backend: str = "numpy",
        device: str | None = None,
    ) -> None:
        self.n_rows, self.n_cols, self.backend = n_rows, n_cols, backend
        ones = np.ones(len(rows), dtype=np.float64)
        mat = sp.csr_matrix((ones, (rows, cols)), shape=(n_rows, n_cols))
        mat_t = mat.T.tocsr()
        if backend == "numpy":
            self._s, self._st = mat, mat_t
            return
        import torch

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._s = _torch_csr(mat, self.device)
        self._st = _torch_csr(mat_t, self.device)

    def loglik_grid(self, table: np.ndarray):
        """Per-person log-likelihood at each node, (n_rows, n_quad)."""
        if self.backend == "numpy":
            return np.asarray(self._s @ table)
        import torch

        return self._s @ torch.as_tensor(table, device=self.device)

    def posterior(self, table: np.ndarray, log_w: np.ndarray):
        """Normalised posterior weights per person and the marginal log-likelihood."""
        ll = self.loglik_grid(table)
        if self.backend == "numpy":
            ll += log_w[None, :]
            top = ll.max(axis=1, keepdims=True)
            post = np.exp(ll - top)
            total = post.sum(axis=1, keepdims=True)
            post /= total
            return post, float((top + np.log(total)).sum())
        import torch

        ll += torch.as_tensor(log_w, device=self.device)[None, :]
        lse = torch.logsumexp(ll, dim=1, keepdim=True)
        return torch.exp(ll - lse), float(lse.sum())

    def expected_counts(self, post) -> np.ndarray:
        """Expected responses per (item, outcome) row and node, as numpy (n_cols, n_quad)."""
        if self.backend == "numpy":
            return np.asarray(self._st @ post)
        return (self._st @ post).cpu().numpy()

    def to_numpy(self, x) -> np.ndarray:
        """Bring a backend array (numpy or torch) to numpy."""
        return x if isinstance(x, np.ndarray) else x.cpu().numpy()


def _torch_csr(mat: sp.csr_matrix, device):
    import torch

    with warnings.catch_warnings():  # torch flags sparse CSR as "beta"; scipy built it, so it is valid
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.as_tensor(mat.indptr, dtype=torch.int64),
            torch.as_tensor(mat.indices, dtype=torch.int64),
            torch.as_tensor(mat.data, dtype=torch.float64),
            size=mat.shape,
            check_invariants=False,
        ).to(device)

"""Naive Prototype Surgery: the closed-form edit of the final-layer weights.

Training moved the prototypes from ``W_init`` to ``W_orig``. Writing that change as a combination of the
training samples' penultimate features, ``W_orig - W_init = Theta @ F`` (``Theta``: classes x N, one column
per sample), attributes to each sample its share of the change; unlearning drops the forget samples'
columns and rebuilds ``W_new = W_init + Theta_R @ F_R`` from the rest.

``Theta`` is the minimum-norm solution ``(W_orig - W_init) @ pinv(F)``. Everything runs in float64 on the
CPU in NumPy: the pseudo-inverse of float32 features loses several digits exactly where small singular
values matter. Two solvers give the same ``Theta``:

* ``pinv``: an economy SVD of ``F`` (N x d); cheap when ``N <= d``.
* ``lstsq``: ``Theta^T`` is the minimum-norm solution of the under-determined system ``F^T X = D^T``
  (d x N), which LAPACK's ``gelsd`` solves in O(N d) memory. Used when ``N > d`` (the usual case: tens of
  thousands of samples, 64-1024 features). Neither path ever forms an N x N matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from unlearnkit.shared.errors import UnlearnkitError

__all__ = ["SOLVERS", "decompose", "naive_ps_weight", "resolve_solver"]


def _rcond(n: int, d: int) -> float:
    """One cut-off for tiny singular values shared by both solvers, so that they agree on rank-deficient
    features (dead ReLU units give exactly-zero feature columns)."""
    return float(np.finfo(np.float64).eps * max(n, d))


def _solve_pinv(delta: np.ndarray, features: np.ndarray) -> np.ndarray:
    n, d = features.shape
    return delta @ np.linalg.pinv(features, rcond=_rcond(n, d))


def _solve_lstsq(delta: np.ndarray, features: np.ndarray) -> np.ndarray:
    n, d = features.shape
    theta_t, *_ = np.linalg.lstsq(features.T, delta.T, rcond=_rcond(n, d))
    return theta_t.T


SOLVERS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "pinv": _solve_pinv,
    "lstsq": _solve_lstsq,
}


def resolve_solver(solver: str, n: int, d: int) -> str:
    """``auto`` picks the SVD when the sample count is at most the feature size, least squares above."""
    if solver == "auto":
        return "pinv" if n <= d else "lstsq"
    if solver not in SOLVERS:
        raise UnlearnkitError(f"unknown solver {solver!r}; choose one of: auto, {', '.join(SOLVERS)}")
    return solver


def _as_f64(name: str, a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().double().numpy()
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2:
        raise UnlearnkitError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise UnlearnkitError(f"{name} contains NaN or infinite values")
    return arr


def decompose(w_orig, w_init, features, solver: str = "auto") -> np.ndarray:
    """``Theta`` (classes x N, float64) with ``Theta @ F`` the best reconstruction of ``W_orig - W_init``
    from the rows of ``F``."""
    w_orig = _as_f64("W_orig", w_orig)
    w_init = _as_f64("W_init", w_init)
    features = _as_f64("features", features)
    if w_orig.shape != w_init.shape:
        raise UnlearnkitError(f"W_orig {w_orig.shape} and W_init {w_init.shape} differ in shape")
    n, d = features.shape
    if d != w_orig.shape[1]:
        raise UnlearnkitError(f"features have {d} columns but the final layer expects {w_orig.shape[1]}")
    if n == 0:
        raise UnlearnkitError("no training features to decompose")
    return SOLVERS[resolve_solver(solver, n, d)](w_orig - w_init, features)


def naive_ps_weight(
    w_orig, w_init, features, forget_rows: Sequence[int] | np.ndarray, solver: str = "auto"
) -> np.ndarray:
    """The unlearned weight ``W_init + Theta_R @ F_R`` (float64), ``R`` = all rows except ``forget_rows``.

    ``forget_rows`` index the rows of ``features`` (positions in the training set the features came from).
    """
    features = _as_f64("features", features)
    n = features.shape[0]
    rows = np.unique(np.asarray(forget_rows, dtype=np.int64))
    if rows.size == 0:
        raise UnlearnkitError("the forget set is empty")
    if rows[0] < 0 or rows[-1] >= n:
        raise UnlearnkitError(f"forget indices must lie in [0, {n}), got {rows[0]}..{rows[-1]}")
    theta = decompose(w_orig, w_init, features, solver)
    keep = np.ones(n, dtype=bool)
    keep[rows] = False
    return _as_f64("W_init", w_init) + theta[:, keep] @ features[keep]

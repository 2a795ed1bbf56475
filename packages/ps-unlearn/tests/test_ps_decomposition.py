"""Naive PS closed form against answers known by construction."""

import numpy as np
import pytest
from unlearnkit.ps_unlearn.decomposition import decompose, naive_ps_weight, resolve_solver
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.metrics.rte import RTEMeter


def _case(n, d, c=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(c, d)), rng.normal(size=(n, d)), rng


def test_independent_features_recover_theta_exactly():
    """N <= d, D = A @ F: Theta must be A, Theta @ F must be D, W_new = W_orig - A_U @ F_U."""
    w_init, feats, rng = _case(n=20, d=64)
    a = rng.normal(size=(10, 20))
    w_orig = w_init + a @ feats
    assert resolve_solver("auto", 20, 64) == "pinv"
    theta = decompose(w_orig, w_init, feats)
    np.testing.assert_allclose(theta, a, atol=1e-10)
    np.testing.assert_allclose(theta @ feats, w_orig - w_init, atol=1e-10)
    forget = [3, 7, 19]
    w_new = naive_ps_weight(w_orig, w_init, feats, forget)
    np.testing.assert_allclose(w_new, w_orig - a[:, forget] @ feats[forget], atol=1e-10)


def test_many_samples_use_lstsq_and_match_pinv():
    w_init, feats, rng = _case(n=500, d=16)
    w_orig = w_init + rng.normal(size=w_init.shape)
    assert resolve_solver("auto", 500, 16) == "lstsq"
    t_lstsq = decompose(w_orig, w_init, feats)
    t_pinv = decompose(w_orig, w_init, feats, solver="pinv")
    np.testing.assert_allclose(t_lstsq, t_pinv, atol=1e-10)
    # full column rank: the change is reconstructed exactly and W_new = W_orig - Theta_U F_U
    np.testing.assert_allclose(t_lstsq @ feats, w_orig - w_init, atol=1e-10)
    forget = np.arange(450, 500)
    np.testing.assert_allclose(
        naive_ps_weight(w_orig, w_init, feats, forget),
        w_orig - t_lstsq[:, forget] @ feats[forget],
        atol=1e-10,
    )


def test_rank_deficient_features_solvers_agree():
    """Dead ReLU units give zero feature columns; both solvers must still give the same minimum-norm Theta."""
    w_init, feats, rng = _case(n=200, d=12)
    feats[:, [2, 5]] = 0.0
    w_orig = w_init + rng.normal(size=w_init.shape)
    np.testing.assert_allclose(
        decompose(w_orig, w_init, feats, "lstsq"), decompose(w_orig, w_init, feats, "pinv"), atol=1e-9
    )
    # dropping nothing relevant: the dead columns of W keep W_init's values
    w_new = naive_ps_weight(w_orig, w_init, feats, [0])
    np.testing.assert_allclose(w_new[:, [2, 5]], w_init[:, [2, 5]], atol=1e-12)


def test_large_n_never_forms_n_by_n():
    """N = 200k: an N x N float64 matrix would need 320 GB; the lstsq path stays within a few copies of F."""
    n, d = 200_000, 8
    w_init, feats, rng = _case(n=n, d=d, c=5)
    w_orig = w_init + rng.normal(size=w_init.shape)
    f_bytes = feats.nbytes
    with RTEMeter("cpu") as meter:
        w_new = naive_ps_weight(w_orig, w_init, feats, np.arange(n - 100, n))
    assert w_new.shape == (5, d)
    assert meter.peak_mem_mb * 2**20 < 20 * f_bytes  # N x N would be 25000 x F


def test_bad_inputs_raise():
    w_init, feats, _ = _case(n=10, d=4)
    with pytest.raises(UnlearnkitError):
        naive_ps_weight(w_init, w_init, feats, [10])
    with pytest.raises(UnlearnkitError):
        naive_ps_weight(w_init, w_init, feats, [])
    with pytest.raises(UnlearnkitError):
        decompose(w_init, w_init[:, :3], feats)
    with pytest.raises(UnlearnkitError):
        decompose(w_init, w_init, feats, solver="qr")

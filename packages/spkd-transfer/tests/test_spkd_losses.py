"""Correctness of the distillation losses on cases whose answer is known by hand."""

import math

import pytest
import torch
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.spkd_transfer.losses import (
    DISTILL_LOSSES,
    get_distill_loss,
    rkd_angle_loss,
    rkd_distance_loss,
    sp_loss,
)

torch.manual_seed(0)
RELATIONAL = ["sp", "rkd", "akd", "rkd-da"]


def _rotation(d: int, seed: int = 0) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


@pytest.mark.parametrize("name", RELATIONAL + ["mse"])
def test_zero_for_identical_features(name):
    f = torch.randn(6, 5, dtype=torch.float64)
    assert get_distill_loss(name)(f, f.clone()).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("name", RELATIONAL)
def test_positive_for_different_geometry(name):
    t = torch.randn(6, 5, dtype=torch.float64)
    s = torch.randn(6, 5, dtype=torch.float64)
    assert get_distill_loss(name)(s, t).item() > 1e-4


@pytest.mark.parametrize("name", RELATIONAL)
def test_invariant_to_global_scale_and_rotation(name):
    """Relations, not coordinates: scaling or rotating the student's whole feature space costs nothing."""
    t = torch.randn(7, 4, dtype=torch.float64)
    s = 3.7 * t @ _rotation(4)
    assert get_distill_loss(name)(s, t).item() == pytest.approx(0.0, abs=1e-6)


def test_sp_row_normalisation_and_per_sample_scale():
    """SP normalises each row of G: a global rescale of the features is invisible, but scaling only one
    sample changes the other rows' entries for it (so the loss does notice a sample drifting in norm)."""
    t = torch.randn(5, 4, dtype=torch.float64)
    assert sp_loss(t * 10.0, t).item() == pytest.approx(0.0, abs=1e-9)
    s = t.clone()
    s[0] *= 3.0
    assert sp_loss(s, t).item() > 1e-4


def test_sp_hand_computed_three_samples():
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    s = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    # G_t rows normalised: [1,0,1]/√2, [0,1,1]/√2, [1,1,2]/√6; G_s rows: [1,0,1]/√2, [0,1,0], [1,0,1]/√2
    r2, r6 = math.sqrt(2), math.sqrt(6)
    sq = (1 - 1 / r2) ** 2 + 1 / 2 + (1 / r2 - 1 / r6) ** 2 + 1 / 6 + (1 / r2 - 2 / r6) ** 2
    assert sp_loss(s, t).item() == pytest.approx(math.sqrt(sq) / 9, rel=1e-9)


def test_rkd_distance_hand_computed():
    t = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    s = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    # teacher distances 1, 1, √2 over their mean (2+√2)/3; student 1, 2, 1 over 4/3
    m = (2 + math.sqrt(2)) / 3
    diffs = [0.75 - 1 / m, 1.5 - 1 / m, 0.75 - math.sqrt(2) / m]
    huber = [0.5 * d * d if abs(d) < 1 else abs(d) - 0.5 for d in diffs]
    assert rkd_distance_loss(s, t).item() == pytest.approx(2 * sum(huber) / 9, rel=1e-9)


def test_rkd_angle_hand_computed():
    t = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)  # right angle at 0
    s = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], dtype=torch.float64)  # collinear
    # cos at each vertex, teacher vs student: 0 vs 1, 1/√2 vs -1, 1/√2 vs 1; each triple counted twice
    c = 1 / math.sqrt(2)
    diffs = [1.0, -1.0 - c, 1.0 - c]
    huber = [0.5 * d * d if abs(d) < 1 else abs(d) - 0.5 for d in diffs]
    # the j == k entries are 1 on both sides and the degenerate i == j entries 0 on both: no contribution
    assert rkd_angle_loss(s, t).item() == pytest.approx(2 * sum(huber) / 27, rel=1e-9)


@pytest.mark.parametrize("name", RELATIONAL)
def test_teacher_gets_no_gradient(name):
    t = torch.randn(5, 3, requires_grad=True)
    s = torch.randn(5, 3, requires_grad=True)
    get_distill_loss(name)(s, t).backward()
    assert t.grad is None
    assert s.grad is not None and torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


def test_feature_dims_may_differ_for_relational_losses():
    assert torch.isfinite(sp_loss(torch.randn(4, 8), torch.randn(4, 3)))
    with pytest.raises(ValueError):
        sp_loss(torch.randn(4, 8), torch.randn(5, 8))


def test_unknown_loss_is_a_user_error():
    with pytest.raises(UnlearnkitError, match="sp"):
        get_distill_loss("nope")
    assert {"sp", "rkd", "akd"} <= set(DISTILL_LOSSES.names())

"""MIA features, SalUn's MIA-efficacy, SCAR's MIA, AUS and Avg. Gap on hand-computed / synthetic cases."""

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset
from unlearnkit.shared.metrics import (
    aus_cr,
    aus_hr,
    avg_gap,
    entropy,
    mia_efficacy,
    mia_efficacy_from_probs,
    mia_features,
    modified_entropy,
    scar_mia,
    scar_mia_from_probs,
)

torch.set_num_threads(1)


def two_class(p_true):
    p = np.asarray(p_true, dtype=float)
    return np.stack([p, 1 - p], 1), np.zeros(len(p), dtype=int)


def test_features_hand_computed():
    p = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    y = np.array([0, 1])
    assert mia_features(p, y, "confidence").ravel() == pytest.approx([0.7, 0.5])
    assert mia_features(p, y, "correctness").ravel() == pytest.approx([1.0, 0.0])  # argmax tie -> class 0
    ent = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    assert entropy(p) == pytest.approx([ent, math.log(2)])
    m0 = -(0.3 * math.log(0.7)) - (0.2 * math.log(0.8) + 0.1 * math.log(0.9))
    m1 = -(0.5 * math.log(0.5)) - (0.5 * math.log(0.5) + 0.0)
    assert modified_entropy(p, y) == pytest.approx([m0, m1])
    assert mia_features(p, y, "prob").shape == (2, 3)
    with pytest.raises(ValueError):
        mia_features(p, y, "nope")


def test_mia_efficacy_synthetic_extremes():
    rng = np.random.default_rng(0)
    members = two_class(rng.uniform(0.95, 1.0, 200))
    nonmembers = two_class(rng.uniform(0.2, 0.7, 200))
    like_test = two_class(rng.uniform(0.2, 0.7, 100))
    like_members = two_class(rng.uniform(0.95, 1.0, 100))
    for feat in ("confidence", "entropy", "m_entropy", "prob"):
        assert mia_efficacy_from_probs(*members, *nonmembers, *like_test, feature=feat) > 95
        assert mia_efficacy_from_probs(*members, *nonmembers, *like_members, feature=feat) < 5


class Identity(nn.Module):
    def forward(self, x):
        return x


def logits_ds(p_true, n):
    p = torch.as_tensor(p_true, dtype=torch.float64)
    logits = torch.stack([torch.log(p), torch.log1p(-p)], 1).float()  # softmax gives back [p, 1 - p]
    return TensorDataset(logits, torch.zeros(n, dtype=torch.long))


def test_mia_efficacy_with_a_model():
    rng = np.random.default_rng(1)
    retain = logits_ds(rng.uniform(0.95, 0.999, 500), 500)
    test = logits_ds(rng.uniform(0.2, 0.7, 100), 100)
    forget_forgotten = logits_ds(rng.uniform(0.2, 0.7, 50), 50)
    forget_kept = logits_ds(rng.uniform(0.95, 0.999, 50), 50)
    model = Identity()
    assert mia_efficacy(model, retain, forget_forgotten, test, seed=0) > 95
    assert mia_efficacy(model, retain, forget_kept, test, seed=0) < 5


def test_scar_mia_separable_and_identical():
    rng = np.random.default_rng(0)
    peaked = rng.dirichlet([20, 1, 1], 150)
    flat = rng.dirichlet([2, 2, 2], 40)
    out = scar_mia_from_probs(peaked, flat, mode="CR", repeats=2, seed=0)
    assert out["n_forget"] == 120 and out["n_test"] == 40  # forget capped at 3x test
    assert out["acc"] > 0.9 and out["hr_score"] == pytest.approx(abs(100 * out["acc"] - 50))
    same = scar_mia_from_probs(rng.dirichlet([2, 2, 2], 100), flat, mode="HR", repeats=2, seed=0)
    assert same["n_forget"] == same["n_test"] == 40
    assert 0.25 <= same["acc"] <= 0.75
    model_out = scar_mia(
        Identity(),
        TensorDataset(torch.log(torch.as_tensor(peaked[:40])), torch.zeros(40)),
        TensorDataset(torch.log(torch.as_tensor(flat[:40])), torch.zeros(40)),
        mode="HR",
        repeats=1,
    )
    assert model_out["acc"] > 0.8


def test_aus_formulas():
    assert aus_cr(0.9, 0.85, 0.1) == pytest.approx((1 - 0.05) / 1.1)
    assert aus_hr(0.9, 0.85, 0.95) == pytest.approx((1 - 0.05) / 1.1)
    assert aus_cr(0.9, 0.9, 0.0) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        aus_cr(90, 85, 10)


def test_avg_gap_hand_case():
    m = {"UA": 5.0, "RA": 99.0, "TA": 90.0, "MIA": 20.0, "RTE": 3.0}
    ref = {"UA": 6.0, "RA": 100.0, "TA": 94.0, "MIA": 10.0, "RTE": 40.0}
    assert avg_gap(m, ref) == pytest.approx((1 + 1 + 4 + 10) / 4)
    assert avg_gap({"UA": 5.0, "RA": 99.0}, ref) == pytest.approx(1.0)  # only keys present in both
    assert math.isnan(avg_gap({}, ref))


def test_mia_efficacy_accepts_loaders_and_first_pick():
    from torch.utils.data import DataLoader

    rng = np.random.default_rng(2)
    retain = logits_ds(rng.uniform(0.95, 0.999, 300), 300)
    test = logits_ds(rng.uniform(0.2, 0.7, 80), 80)
    forget = logits_ds(rng.uniform(0.2, 0.7, 40), 40)
    a = mia_efficacy(Identity(), DataLoader(retain, batch_size=64), DataLoader(forget, batch_size=7), test)
    b = mia_efficacy(Identity(), retain, forget, test)
    assert a == pytest.approx(b)  # same seeded member subset whatever the container
    assert mia_efficacy(Identity(), retain, forget, test, pick="first") > 95

"""Linear CKA, k-NN transfer and the per-layer taps, on cases whose answer is known."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.metrics.cka import linear_cka
from unlearnkit.shared.metrics.knn import knn_split
from unlearnkit.spkd_transfer.features import LayerTaps, default_layers, resolve_layers
from unlearnkit.spkd_transfer.transfer import cka_to_reference, knn_transfer, layer_features


class TinyNet(nn.Module):
    """The unlearnkit model contract (features / classifier) in a few lines."""

    def __init__(self, d_in=6, width=8, classes=3, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.block1 = nn.Sequential(nn.Linear(d_in, width), nn.ReLU())
        self.block2 = nn.Sequential(nn.Linear(width, width), nn.ReLU())
        self.classifier = nn.Linear(width, classes)

    def features(self, x):
        return self.block2(self.block1(x))

    def forward(self, x):
        return self.classifier(self.features(x))


class Identity(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.stem = nn.Identity()
        self.classifier = nn.Linear(d, 2)

    def features(self, x):
        return self.stem(x)

    def forward(self, x):
        return self.classifier(self.features(x))


def _clusters(n_per=30, classes=4, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(classes, d) * 10
    x = torch.cat([centres[c] + 0.1 * torch.randn(n_per, d, generator=g) for c in range(classes)])
    y = torch.arange(classes).repeat_interleave(n_per)
    return TensorDataset(x, y)


# --- linear CKA ---------------------------------------------------------------------------------------------


def test_cka_identical_orthogonal_scaled_and_unrelated():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 10, generator=g, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(10, 10, generator=g, dtype=torch.float64))
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(x, x @ q) == pytest.approx(1.0, abs=1e-10)
    assert linear_cka(x, 5.0 * x) == pytest.approx(1.0, abs=1e-12)
    unrelated = torch.randn(200, 10, generator=g, dtype=torch.float64)
    assert linear_cka(x, unrelated) < 0.2


def test_cka_hand_computed():
    # one-dimensional features: linear CKA is the squared Pearson correlation.
    # x centred = (-1, 0, 1), y centred = (2, -1, -1)/3: <x,y> = -1, |x|^2 = 2, |y|^2 = 2/3 -> 1 / (4/3)
    assert linear_cka([[1.0], [2.0], [3.0]], [[1.0], [0.0], [0.0]]) == pytest.approx(0.75, abs=1e-12)


def test_model_cka_same_model_is_100_and_differs_for_another():
    data = TensorDataset(torch.randn(64, 6), torch.zeros(64, dtype=torch.long))
    a, b = TinyNet(seed=0), TinyNet(seed=1)
    same = cka_to_reference(a, a, data, layers="all", batch_size=16)
    assert set(same["layers"]) == {"block1", "block2", "penultimate", "logits"}
    assert all(v == pytest.approx(100.0, abs=1e-6) for v in same["layers"].values())
    other = cka_to_reference(a, b, data, layers="penultimate", batch_size=16)
    assert list(other["layers"]) == ["penultimate"] and other["mean"] < 99.0


# --- k-NN ---------------------------------------------------------------------------------------------------


def test_knn_separable_clusters_are_perfect():
    data = _clusters()
    assert knn_transfer(Identity(5), data, k=5, seed=0) == 100.0


def test_knn_split_is_seeded_and_stratified():
    y = np.repeat(np.arange(4), 25)
    tr1, te1 = knn_split(y, seed=3)
    tr2, te2 = knn_split(y, seed=3)
    assert (tr1 == tr2).all() and (te1 == te2).all()
    assert not np.array_equal(te1, knn_split(y, seed=4)[1])
    assert len(te1) == 20 and np.bincount(y[te1]).tolist() == [5, 5, 5, 5]
    assert set(tr1).isdisjoint(te1)


def test_knn_reproducible_and_random_features_near_chance():
    data = TensorDataset(torch.randn(200, 6), torch.randint(0, 4, (200,)))
    m = TinyNet(classes=4)
    a = knn_transfer(m, data, seed=1)
    assert a == knn_transfer(m, data, seed=1)
    assert a < 60.0


# --- layer taps ---------------------------------------------------------------------------------------------


def test_layer_taps_match_the_forward_and_leave_no_hooks():
    m = TinyNet()
    x = torch.randn(4, 6)
    out = LayerTaps(m, ["block1", "penultimate", "logits"])(x)
    assert torch.allclose(out["logits"], m(x))
    assert torch.allclose(out["penultimate"], m.features(x))
    assert out["block1"].shape == (4, 8)
    assert all(not mod._forward_hooks for mod in m.modules())


def test_layer_names_validated():
    m = TinyNet()
    assert default_layers(m) == ["block1", "block2", "penultimate", "logits"]
    assert resolve_layers(m, "block2,logits") == ["block2", "logits"]
    with pytest.raises(UnlearnkitError, match="unknown layer"):
        resolve_layers(m, "layer9")


def test_logit_features_have_class_dim():
    f, y = layer_features(TinyNet(classes=3), _clusters(d=6), "logits")
    assert f.shape == (120, 3) and y.shape == (120,)


def test_knn_repeats_average_the_seeded_splits():
    data = TensorDataset(torch.randn(120, 6), torch.randint(0, 3, (120,)))
    m = TinyNet()
    singles = [knn_transfer(m, data, seed=s) for s in (5, 6, 7)]
    assert knn_transfer(m, data, seed=5, repeats=3) == pytest.approx(float(np.mean(singles)))
    assert knn_transfer(m, data, seed=5, repeats=1) == singles[0]

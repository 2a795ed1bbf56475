"""k-NN transfer accuracy and linear CKA on cases with known answers."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset
from unlearnkit.shared.metrics import (
    batched_linear_cka,
    knn_accuracy,
    knn_split,
    knn_transfer_accuracy,
    linear_cka,
    model_cka,
)

torch.set_num_threads(1)


def clusters(n_per=30, seed=0):
    """Three tight clusters along different directions: cosine k-NN must be perfect."""
    rng = np.random.default_rng(seed)
    centres = np.array([[10.0, 0, 0, 0], [0, 10.0, 0, 0], [0, 0, 10.0, 0]])
    x = np.concatenate([c + rng.normal(0, 0.5, (n_per, 4)) for c in centres])
    return x, np.repeat(np.arange(3), n_per)


def test_knn_separable_clusters_and_hand_case():
    x, y = clusters()
    assert knn_transfer_accuracy(x, y, k=5) == pytest.approx(100.0)
    assert knn_transfer_accuracy(torch.as_tensor(x), torch.as_tensor(y)) == pytest.approx(100.0)
    # cosine ignores the norm: a far-away point on class 1's ray is still class 1
    train_x = np.array([[1.0, 0], [2, 0.1], [0, 1], [0.1, 2]])
    train_y = np.array([0, 0, 1, 1])
    assert knn_accuracy(train_x, train_y, np.array([[0.0, 50], [3, 0]]), np.array([1, 0]), k=1) == 100.0
    assert knn_accuracy(train_x, train_y, np.array([[0.0, 50]]), np.array([0]), k=1) == 0.0


def test_knn_split_reproducible_and_stratified():
    _, y = clusters(n_per=50)
    tr1, te1 = knn_split(y, seed=3)
    tr2, te2 = knn_split(y, seed=3)
    assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
    assert len(te1) == 30 and np.bincount(y[te1]).tolist() == [10, 10, 10]
    assert not np.array_equal(te1, knn_split(y, seed=4)[1])
    assert set(tr1).isdisjoint(te1) and len(tr1) + len(te1) == len(y)


def test_cka_hand_computed():
    # 1-d features: linear CKA = squared Pearson correlation; centred x = (-1, 0, 1), y = (0, -1, 1)
    assert linear_cka([[1.0], [2.0], [3.0]], [[1.0], [0.0], [2.0]]) == pytest.approx(0.25)
    # 2-d: X = diag-ish, Y = X with one column dropped
    x = np.array([[1.0, 0], [-1, 0], [0, 2], [0, -2]])  # centred; X^T X = diag(2, 8)
    y = x[:, :1]  # Y^T Y = 2, Y^T X = (2, 0)
    assert linear_cka(x, y) == pytest.approx(4 / (np.sqrt(4 + 64) * 2))


def test_cka_invariances_and_unrelated():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8))
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, x @ q) == pytest.approx(1.0)
    assert linear_cka(x, 3.7 * x + 5.0) == pytest.approx(1.0)  # isotropic scale and shift
    assert linear_cka(torch.as_tensor(x).float(), x @ q * 0.01) == pytest.approx(1.0, abs=1e-6)
    assert linear_cka(x, rng.normal(size=(200, 8))) < 0.15
    wide = rng.normal(size=(10, 50))  # Gram path (n < d) agrees with the feature path
    other = rng.normal(size=(10, 50))
    xc, oc = wide - wide.mean(0), other - other.mean(0)
    expected = np.linalg.norm(oc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(oc.T @ oc))
    assert linear_cka(wide, other) == pytest.approx(expected)


class Net(nn.Module):
    def __init__(self, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.body = nn.Sequential(nn.Linear(6, 16), nn.ReLU())
        self.head = nn.Linear(16, 3)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


def test_model_cka_and_batched():
    data = TensorDataset(torch.randn(70, 6), torch.zeros(70, dtype=torch.long))
    a, b = Net(0), Net(1)
    assert model_cka(a, a, data, batch_size=32) == pytest.approx(100.0)
    v = model_cka(a, b, data, batch_size=32)
    assert 0 < v < 100
    assert model_cka(a, a, data, layer=["body.0", "head"]) == pytest.approx(100.0)
    assert model_cka(a, b, data, layer="logits") != pytest.approx(v)
    x = torch.randn(40, 5)
    assert batched_linear_cka([x[:20], x[20:], x[:1]], [x[:20] * 2, x[20:], x[:1]]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        model_cka(a, b, data, layer="nope")

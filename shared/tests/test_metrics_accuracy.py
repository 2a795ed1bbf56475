"""Inference helpers and accuracies on models whose predictions are fixed by construction."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from unlearnkit.shared.inference import extract_features, iterate_batches, predict
from unlearnkit.shared.metrics import accuracy, accuracy_from_logits, topk_accuracy, unlearning_accuracies

torch.set_num_threads(1)
C = 4


class FixedLabel(nn.Module):
    """Predicts the label written in x[:, 0]: accuracies are known exactly from the data."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(2)  # a module with train/eval behaviour, to check the mode is restored

    def features(self, x):
        return x * 2

    def forward(self, x):
        return nn.functional.one_hot(x[:, 0].long(), C).float()


def labelled(pred, true):
    x = torch.stack([torch.tensor(pred, dtype=torch.float), torch.zeros(len(pred))], 1)
    return TensorDataset(x, torch.tensor(true))


def test_accuracy_from_fixed_logits():
    logits = torch.tensor([[2.0, 1, 0], [0, 3, 1], [1, 0, 5], [4, 0, 1]])
    targets = torch.tensor([0, 2, 2, 1])
    assert accuracy_from_logits(logits, targets) == pytest.approx(50.0)
    acc = topk_accuracy(logits, targets, ks=(1, 2, 5))
    assert acc == pytest.approx({1: 50.0, 2: 75.0, 5: 100.0})  # k clipped to 3 classes
    assert math.isnan(accuracy_from_logits(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)))


def test_predict_dataset_and_loader_restore_mode():
    ds = labelled([0, 1, 2, 3, 1], [0, 1, 2, 0, 0])
    model = FixedLabel().train()
    model.bn.eval()  # a per-module flag that must survive too
    logits, y = predict(model, ds, batch_size=2)
    assert logits.shape == (5, C) and logits.dtype == torch.float32 and y.dtype == torch.long
    assert model.training and not model.bn.training
    logits2, y2 = predict(model, DataLoader(ds, batch_size=3))
    assert torch.equal(logits, logits2) and torch.equal(y, y2)
    assert len(list(iterate_batches(ds, 2))) == 3
    feats, _ = extract_features(model, ds)
    assert torch.equal(feats, ds.tensors[0] * 2)
    assert torch.is_grad_enabled()  # no_grad does not leak out


def test_extract_features_falls_back_to_forward():
    lin = nn.Linear(2, 3)
    ds = TensorDataset(torch.randn(6, 2), torch.zeros(6, dtype=torch.long))
    feats, _ = extract_features(lin, ds)
    assert torch.allclose(feats, lin(ds.tensors[0]).detach())


def test_unlearning_accuracies_on_fixed_predictions():
    model = FixedLabel()
    splits = SimpleNamespace(
        forget=labelled([0, 0, 1, 1], [0, 1, 1, 1]),  # 75 % right -> UA 25
        retain=labelled([2, 3], [2, 3]),  # 100
        test=labelled([0, 1, 2, 3, 0], [0, 1, 0, 0, 0]),  # 60
        test_forget=None,
        test_retain=None,
    )
    assert unlearning_accuracies(model, splits) == pytest.approx({"UA": 25.0, "RA": 100.0, "TA": 60.0})
    splits.test_forget = labelled([1, 1], [0, 1])
    splits.test_retain = labelled([2], [3])
    out = unlearning_accuracies(model, splits)
    assert out["TA_forget"] == pytest.approx(50.0) and out["TA_retain"] == pytest.approx(0.0)
    assert accuracy(model, splits.retain) == pytest.approx(100.0)


def test_unlabelled_data_gets_minus_one_targets():
    images = torch.randn(5, 2)
    feats, y = extract_features(nn.Linear(2, 3), [images[:3], images[3:]])
    assert feats.shape == (5, 3) and y.tolist() == [-1] * 5

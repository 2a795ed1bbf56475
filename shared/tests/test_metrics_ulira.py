"""U-LiRA on synthetic Gaussian confidences with a known separation."""

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset
from unlearnkit.shared.metrics import logit_confidence, ulira_attack, ulira_evaluate, ulira_scores

torch.set_num_threads(1)


def shadows(shift, n_models=8, n=150, seed=0):
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, 3, n)  # per-example difficulty: why the test is per example
    ins = mu + shift + rng.normal(0, 1, (n_models, n))
    outs = mu + rng.normal(0, 1, (n_models, n))
    return mu, ins, outs, rng


def test_logit_confidence_hand_case():
    logits = torch.tensor([[0.0, math.log(3.0)], [50.0, 0.0]])
    phi = logit_confidence(logits, torch.tensor([1, 0]))
    assert phi[0] == pytest.approx(math.log(3.0))  # p = 0.75 -> log(0.75 / 0.25)
    assert phi[1] == pytest.approx(50.0)  # finite where 1 - p underflows


def test_ulira_scores_gaussian_hand_case():
    ins = np.array([[1.0], [3.0]])  # mean 2, var 2
    outs = np.array([[-1.0], [1.0]])  # mean 0, var 2
    s = ulira_scores(np.array([2.0]), ins, outs)
    assert s[0] == pytest.approx(0.5 * 4 / 2)  # equal variances: ((t - mu_out)^2 - (t - mu_in)^2) / 2 var


def test_ulira_separated_vs_identical():
    mu, ins, outs, rng = shadows(shift=3.0)
    out = ulira_evaluate(ins, outs, target_conf=mu + 3.0 + rng.normal(0, 1, mu.shape))
    assert out["auc"] > 0.95 and out["accuracy"] > 85
    assert out["target_in_rate"] > 85  # a target that still "knows" the examples
    mu, ins, outs, rng = shadows(shift=0.0, seed=1)
    out = ulira_evaluate(ins, outs, target_conf=mu + rng.normal(0, 1, mu.shape), global_variance=True)
    assert 0.42 < out["auc"] < 0.58


class Shift(nn.Module):
    def __init__(self, b):
        super().__init__()
        self.b = b

    def forward(self, x):
        return torch.stack([x[:, 0] + self.b, torch.zeros(len(x))], 1)


def test_ulira_attack_with_models():
    rng = np.random.default_rng(0)
    data = TensorDataset(
        torch.as_tensor(rng.normal(0, 2, (60, 1))).float(), torch.zeros(60, dtype=torch.long)
    )
    ins = [Shift(4 + 0.3 * i) for i in range(3)]
    outs = [Shift(0.3 * i) for i in range(3)]
    res = ulira_attack(Shift(0.2), ins, outs, data)
    assert res["auc"] > 0.9 and res["target_in_rate"] < 10 and res["per_example"].shape == (60,)

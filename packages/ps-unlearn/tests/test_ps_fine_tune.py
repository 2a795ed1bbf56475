"""PS fine-tuning: only the chosen final-layer tensors move; BatchNorm and everything else stay bit-identical."""

import copy

import numpy as np
import pytest
import torch
from torch import nn
from unlearnkit.ps_unlearn.ps import PSParams, prototype_surgery
from unlearnkit.ps_unlearn.selection import select_trainable
from unlearnkit.shared.data import load_dataset
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.models import create_model


@pytest.fixture(scope="module")
def forget_set():
    train = load_dataset("digits", "train")
    return train.subset(np.flatnonzero(train.targets == 3)[:24])


@pytest.fixture(scope="module")
def lenet():
    torch.manual_seed(0)
    model = create_model("lenet5", 10, in_chans=1)
    model.train()  # PS must still run BatchNorm in eval mode and restore this flag
    return model


@pytest.mark.parametrize(
    "mode, moved",
    [
        ("weight", {"classifier.weight"}),
        ("bias", {"classifier.bias"}),
        ("layer", {"classifier.weight", "classifier.bias"}),
    ],
)
def test_only_chosen_tensors_change(lenet, forget_set, mode, moved):
    model = copy.deepcopy(lenet)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    prototype_surgery(model, forget_set, PSParams(epochs=3, lr=0.05, trainable=mode, batch_size=8))
    after = model.state_dict()
    for name, tensor in before.items():
        if name in moved:
            assert not torch.equal(tensor, after[name]), f"{name} should have been trained"
        else:
            assert torch.equal(tensor, after[name]), f"{name} changed although only {mode} is trainable"
    assert model.training and all(m.training for m in model.modules())
    assert flags == {n: p.requires_grad for n, p in model.named_parameters()}


def test_ps_forgets_and_cached_features_match_full_forward(lenet, forget_set):
    a, b = copy.deepcopy(lenet), copy.deepcopy(lenet)
    params = PSParams(epochs=4, lr=0.05, batch_size=8)
    info = prototype_surgery(a, forget_set, params)
    prototype_surgery(b, forget_set, PSParams(**{**params.__dict__, "cache_features": False}))
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, atol=1e-5, rtol=1e-4, msg=name)
    assert info["loss_last"] < info["loss_first"]
    assert info["epochs_run"] == 4


def test_stops_at_target_forget_accuracy(lenet, forget_set):
    model = copy.deepcopy(lenet)
    info = prototype_surgery(
        model, forget_set, PSParams(epochs=50, lr=0.05, batch_size=8, target_forget_acc=100.0)
    )
    assert info["epochs_run"] == 1


def test_bias_mode_without_bias_raises(forget_set):
    model = create_model("mlp", 10, in_chans=1)
    model.classifier = nn.Linear(model.feature_dim, 10, bias=False)
    with pytest.raises(UnlearnkitError):
        select_trainable(model, "bias")
    with pytest.raises(UnlearnkitError):
        PSParams(trainable="everything").check()

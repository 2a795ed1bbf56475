"""Naive PS on a real model and data: matches the closed form, touches only the final weight, any class count."""

import copy

import numpy as np
import pytest
import torch
from unlearnkit.ps_unlearn.decomposition import naive_ps_weight
from unlearnkit.ps_unlearn.naive import init_classifier_weight, naive_prototype_surgery
from unlearnkit.ps_unlearn.ps import PSParams, prototype_surgery
from unlearnkit.shared.checkpoint import load_model
from unlearnkit.shared.data import ForgetRequest, load_dataset, make_splits
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.inference import extract_features
from unlearnkit.shared.models import create_model


def test_naive_matches_closed_form_and_keeps_other_tensors(digits_run):
    _, path = digits_run
    model, meta = load_model(path)
    w_init = init_classifier_weight(meta)
    train = load_dataset("digits", "train")
    request = ForgetRequest.subclass(train, 1, 0.1, seed=209)
    splits = make_splits(request, train, load_dataset("digits", "test"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    info = naive_prototype_surgery(model, splits.retain, splits.forget, w_init)
    assert info["num_samples"] == len(train) and info["solver"] == "lstsq"

    feats, _ = extract_features(load_model(path)[0], train)
    expected = naive_ps_weight(
        before["classifier.weight"], w_init, feats.double().numpy(), list(request.indices)
    )
    torch.testing.assert_close(
        model.classifier.weight.double(), torch.from_numpy(expected), atol=1e-5, rtol=1e-5
    )
    for name, tensor in model.state_dict().items():
        if name != "classifier.weight":
            assert torch.equal(tensor, before[name]), name
    assert not torch.equal(model.classifier.weight, before["classifier.weight"])


def test_missing_init_weights_is_a_user_error():
    with pytest.raises(UnlearnkitError, match="init_classifier"):
        init_classifier_weight({"dataset": "digits"})


def test_seven_classes_all_samples_used():
    """The published code looped over classes 0-9 only; here every sample and any class count counts."""
    train = load_dataset("digits", "train")
    train7 = train.relabel(train.targets % 7)
    torch.manual_seed(0)
    model = create_model("mlp", 7, in_chans=1)
    w_init = model.classifier.weight.detach().clone()
    with torch.no_grad():
        model.classifier.weight.add_(torch.randn_like(w_init))
    forget = np.flatnonzero(train7.targets == 5)[:10]
    retain = np.setdiff1d(np.arange(len(train7)), forget)
    orig = copy.deepcopy(model)
    info = naive_prototype_surgery(model, train7.subset(retain), train7.subset(forget), w_init)
    assert info["num_samples"] == len(train7) and info["num_forget"] == 10
    assert model.classifier.weight.shape == (7, model.feature_dim)

    out = prototype_surgery(orig, train7.subset(forget), PSParams(epochs=30, lr=0.05))
    assert out["forget_acc_after"] == 0.0  # every forget sample now lands in one of its two nearest classes

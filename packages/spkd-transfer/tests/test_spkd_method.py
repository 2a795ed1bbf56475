"""SPKD itself: the teacher stays frozen, the forget set is forgotten, the retain set kept, variants run."""

import copy
import json

import pytest
import torch
from unlearnkit.shared.checkpoint import load_model
from unlearnkit.shared.data import ForgetRequest, load_dataset, make_splits
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.methods import UnlearnContext, get_method, list_methods
from unlearnkit.spkd_transfer.methods import register
from unlearnkit.spkd_transfer.spkd import SPKDParams, params_from, snapshot, spkd_unlearn


@pytest.fixture(scope="module")
def ctx_and_model(run_dir):
    model, _ = load_model(run_dir / "original.pt")
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    req = ForgetRequest.load(run_dir / "request.json")
    # a small slice keeps these unit tests fast; the full run is the session fixture's
    splits = make_splits(req, train, test)
    splits.retain = splits.retain.subset(range(0, len(splits.retain), 4))
    return UnlearnContext.from_splits(splits, req, model, seed=0), model


def test_teacher_is_frozen_bit_identical(ctx_and_model):
    ctx, model = ctx_and_model
    before = snapshot(ctx.original)
    student = copy.deepcopy(model)
    spkd_unlearn(student, ctx, SPKDParams(epochs=2, progress=False))
    after = ctx.original.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k].cpu()) for k in before)
    assert all(not p.requires_grad for p in ctx.original.parameters())
    # ... while the student did move
    moved = student.state_dict()
    assert any(not torch.equal(before[k], moved[k].cpu()) for k in before)


def test_retrained_teacher_is_loaded_frozen_and_untouched(run_dir, ctx_and_model):
    ctx, model = ctx_and_model
    path = run_dir / "retrain.pt"
    raw = path.read_bytes()
    spkd_unlearn(copy.deepcopy(model), ctx,
                 SPKDParams(epochs=1, teacher="retrained", teacher_path=str(path), progress=False))
    assert path.read_bytes() == raw
    with pytest.raises(UnlearnkitError, match="--teacher PATH"):
        spkd_unlearn(copy.deepcopy(model), ctx, SPKDParams(epochs=1, teacher="retrained", progress=False))


@pytest.mark.parametrize("distill", ["rkd", "akd", "rkd-da", "mse"])
def test_variants_train_with_finite_losses(ctx_and_model, distill):
    ctx, model = ctx_and_model
    m = spkd_unlearn(copy.deepcopy(model), ctx, SPKDParams(epochs=1, distill=distill, progress=False))
    h = m.spkd_history[-1]
    assert all(torch.isfinite(torch.tensor(v)) for v in (h["forget_loss"], h["ce"], h["distill"]))


def test_spkd_forgets_and_keeps_retain(run_dir):
    report = json.loads((run_dir / "spkd.json").read_text())
    original = json.loads((run_dir / "retrain.json").read_text())
    m = report["metrics"]
    assert m["UA"] >= 90.0, m  # the two digits are forgotten ...
    assert m["RA"] >= 80.0, m  # ... the other eight are kept
    assert original["metrics"]["UA"] == pytest.approx(100.0)
    assert len(report["history"]) == 5
    assert {"kNN", "CKA", "CKA/forget", "CKA/retain", "CKA/test", "kNN/digits-test"} <= set(m)


def test_forget_cap_bounds_the_ascent(ctx_and_model):
    """Without the cap a big learning rate drives the forget CE up without limit; with it the per-sample
    CE the ascent sees never exceeds the cap, so the loss it reports is bounded."""
    ctx, model = ctx_and_model
    capped = spkd_unlearn(copy.deepcopy(model), ctx, SPKDParams(epochs=2, lr=0.05, forget_cap=2.0, progress=False))
    assert all(h["forget_loss"] >= -2.0 - 1e-6 for h in capped.spkd_history)


def test_registered_for_the_bench():
    specs = register()
    assert [s.name for s in specs] == ["spkd", "spkd_rkd", "spkd_akd"]
    assert get_method("spkd").package == "unlearnkit-spkd-transfer"
    assert get_method("spkd_rkd").make_params({}).distill == "rkd"
    assert {"spkd", "spkd_rkd", "spkd_akd", "ga", "retrain"} <= {s.name for s in list_methods()}


def test_params_validation_and_presets():
    assert params_from("paper").lr == 1e-5 and params_from("paper").forget_cap == 0.0
    assert params_from("paper", lr=0.1).lr == 0.1
    with pytest.raises(UnlearnkitError):
        params_from("nope")
    with pytest.raises(UnlearnkitError):
        SPKDParams(distill="nope").validate()
    with pytest.raises(UnlearnkitError):
        SPKDParams(lr=-1).validate()

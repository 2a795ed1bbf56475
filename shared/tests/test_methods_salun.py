"""SalUn's mask: the requested fraction of all weights, nested across ratios, and masked weights never move."""

from __future__ import annotations

import pytest
import torch
from unlearnkit.shared.data import ForgetRequest, load_dataset, make_splits
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.methods import (
    UnlearnContext,
    load_mask,
    mask_fraction,
    run_method,
    saliency_mask,
    saliency_masks,
    save_mask,
)
from unlearnkit.shared.methods.baselines.salun import masks_from_saliency
from unlearnkit.shared.models import create_model


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    request = ForgetRequest.for_classes(train, [1])
    splits = make_splits(request, train, test)
    model = create_model("lenet5", 10, in_chans=1)  # BatchNorm: buffers as well as weights
    ctx = UnlearnContext.from_splits(splits, request, model, progress=False)
    return model, ctx


def test_masks_hold_the_requested_fraction_over_all_parameters(setup):
    model, ctx = setup
    total = sum(p.numel() for p in model.parameters())
    masks = saliency_masks(model, ctx.forget, [0.1, 0.5, 1.0])
    for ratio, mask in masks.items():
        assert set(mask) == {n for n, _ in model.named_parameters()}
        assert sum(int(m.sum()) for m in mask.values()) == round(ratio * total)
        assert mask_fraction(mask) == pytest.approx(ratio, abs=1 / total)
    small, half = masks[0.1], masks[0.5]
    assert all(bool((small[n] <= half[n]).all()) for n in small), "a smaller mask must lie inside a larger one"
    # ranked jointly: layers get different fractions (per-layer top-k would give each ~the same)
    per_layer = [float(m.float().mean()) for m in half.values() if m.numel() > 100]
    assert max(per_layer) - min(per_layer) > 0.05
    assert all(p.grad is None for p in model.parameters()), "computing saliency must not leave gradients"


def test_mask_keeps_the_most_salient_entries():
    sal = {"a": torch.tensor([0.1, 5.0, 0.2]), "b": torch.tensor([[3.0, 0.0], [0.05, 4.0]])}
    mask = masks_from_saliency(sal, [3 / 7])[3 / 7]
    assert mask["a"].tolist() == [0, 1, 0]
    assert mask["b"].tolist() == [[1, 0], [0, 1]]
    with pytest.raises(UnlearnkitError):
        masks_from_saliency(sal, [1.5])


def test_mask_save_load_roundtrip(setup, tmp_path):
    model, ctx = setup
    mask = saliency_mask(model, ctx.forget, 0.3)
    save_mask(tmp_path / "mask.pt", mask)
    back = load_mask(tmp_path / "mask.pt")
    assert set(back) == set(mask) and all(torch.equal(back[n], mask[n]) for n in mask)
    torch.save([1, 2], tmp_path / "bad.pt")
    with pytest.raises(UnlearnkitError):
        load_mask(tmp_path / "bad.pt")


def test_masked_weights_stay_bit_identical_under_weight_decay_and_momentum(setup, tmp_path):
    model, ctx = setup
    mask = saliency_mask(model, ctx.forget, 0.2)
    save_mask(tmp_path / "m.pt", mask)
    out, _ = run_method("salun", model, ctx, mask_path=str(tmp_path / "m.pt"), epochs=1, lr=0.05,
                        weight_decay=5e-2, momentum=0.9)
    before, after = dict(model.named_parameters()), dict(out.named_parameters())
    moved = 0
    for name, m in mask.items():
        frozen = m == 0
        assert torch.equal(after[name][frozen], before[name][frozen].to(after[name].device)), name
        moved += int((after[name][~frozen] != before[name][~frozen]).sum())
    assert moved > 0.5 * sum(int(m.sum()) for m in mask.values()), "the unmasked weights should train"

from __future__ import annotations

import torch
from torch.utils.data import DataLoader
from unlearnkit.slug.datasets import PairDataset
from unlearnkit.slug.grads import compute_gradient, load_gradients, save_gradients
from unlearnkit.slug.layers import candidate_names
from unlearnkit.slug.losses import forget_loss
from unlearnkit.slug.update import apply_single_layer_update, initial_ratio, single_layer_edit


def _forget_pairs(bundle, samples, name="seven"):
    return PairDataset([s for s in samples if name in s.caption], bundle.preprocess_val, bundle.tokenize)


@torch.no_grad()
def mean_cos(model, ds):
    x, t = next(iter(DataLoader(ds, batch_size=len(ds))))
    return (model.encode_image(x, normalize=True) * model.encode_text(t, normalize=True)).sum(-1).mean().item()


def test_update_sign_lowers_forget_similarity_on_every_tower(trained_clip, digit_shards):
    ds = _forget_pairs(trained_clip, digit_shards[1])
    model = trained_clip.model
    g = compute_gradient(model, DataLoader(ds, batch_size=16), forget_loss).grads
    base = mean_cos(model, ds)
    for name in ("visual.transformer.resblocks.1.mlp.c_fc.weight", "transformer.resblocks.0.attn.out_proj.weight"):
        theta = dict(model.named_parameters())[name]
        step = 0.05 * initial_ratio(theta, g[name])
        with single_layer_edit(model, name, g[name], step):
            assert mean_cos(model, ds) < base - 1e-4
        with single_layer_edit(model, name, g[name], -step):  # the opposite sign would raise it
            assert mean_cos(model, ds) > base
    assert mean_cos(model, ds) == base  # edits restored bit-exactly


def test_only_one_tensor_changes(trained_clip, digit_shards, tmp_path):
    from unlearnkit.slug.models import load_clip_checkpoint, save_clip

    ds = _forget_pairs(trained_clip, digit_shards[1])
    model = trained_clip.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = compute_gradient(model, DataLoader(ds, batch_size=16), forget_loss).grads
    name = candidate_names(g)[3]
    apply_single_layer_update(model, name, g[name], 0.1 * initial_ratio(dict(model.named_parameters())[name], g[name]))
    save_clip(tmp_path / "u.safetensors", trained_clip)
    after = load_clip_checkpoint(tmp_path / "u.safetensors").model.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed == [name]


def test_gradient_is_batch_average_and_roundtrips(trained_clip, digit_shards, tmp_path):
    ds = _forget_pairs(trained_clip, digit_shards[1])
    n = (len(ds) // 8) * 8
    sub = torch.utils.data.Subset(ds, range(n))
    model = trained_clip.model
    r = compute_gradient(model, DataLoader(sub, batch_size=8), forget_loss)
    full = compute_gradient(model, DataLoader(sub, batch_size=n), forget_loss)
    assert r.batches == n // 8 and r.samples == n and full.batches == 1
    for k in ("visual.conv1.weight", "text_projection"):  # equal batches: mean of means == full mean
        torch.testing.assert_close(r.grads[k], full.grads[k], rtol=1e-3, atol=1e-6)
    assert all(p.grad is None for p in model.parameters())
    save_gradients(tmp_path / "g.safetensors", r)
    back = load_gradients(tmp_path / "g.safetensors")
    assert set(back) == set(r.grads) and torch.equal(back["text_projection"], r.grads["text_projection"])

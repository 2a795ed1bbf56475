"""Linear CKA (Kornblith et al. 2019): how similar two representations of the same inputs are.

Used to check that an unlearned model's features still look like the retrained model's. CKA is invariant
to orthogonal transforms and isotropic scaling of either representation, so it compares what the
features encode, not their coordinates. Computed in float64: the ratio of two large Frobenius norms loses
digits in float32.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ..inference import eval_mode, iterate_batches

__all__ = ["linear_cka", "batched_linear_cka", "model_cka"]


def _f64(a) -> torch.Tensor:
    t = a.detach() if torch.is_tensor(a) else torch.as_tensor(np.asarray(a))
    t = t.to("cpu", torch.float64)
    return t.reshape(t.shape[0], -1)


def linear_cka(X, Y) -> float:
    """HSIC(X, Y) / sqrt(HSIC(X, X) HSIC(Y, Y)) with linear kernels and centred features, in [0, 1].

    ``X`` [n, d1] and ``Y`` [n, d2] (torch or numpy; extra dims flattened) hold the same n inputs in the
    same order. Returns NaN when either side has no variance (CKA is undefined there).
    """
    x, y = _f64(X), _f64(Y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"CKA needs the same inputs on both sides: {x.shape[0]} vs {y.shape[0]} rows")
    x = x - x.mean(0, keepdim=True)
    y = y - y.mean(0, keepdim=True)
    n = x.shape[0]
    if n < max(x.shape[1], y.shape[1]):
        # Gram form: cheaper when there are fewer samples than features
        k, l_ = x @ x.T, y @ y.T
        num, nx, ny = (k * l_).sum(), k.norm(), l_.norm()
    else:
        num = (y.T @ x).norm() ** 2
        nx, ny = (x.T @ x).norm(), (y.T @ y).norm()
    den = nx * ny
    if den <= 0 or not torch.isfinite(den):
        return float("nan")
    return float(num / den)


def batched_linear_cka(feats_a_iter: Iterable, feats_b_iter: Iterable) -> float:
    """Mean of :func:`linear_cka` over paired batches (a fraction, not x100).

    The SPKD code averages per-batch CKA instead of computing it on the full set, which keeps memory
    bounded; batches under 2 samples or with no variance are skipped.
    """
    vals = []
    for a, b in zip(feats_a_iter, feats_b_iter, strict=True):
        if len(a) < 2:
            continue
        v = linear_cka(a, b)
        if not np.isnan(v):
            vals.append(v)
    return float(np.mean(vals)) if vals else float("nan")


def _layer_fn(model: nn.Module, layer: str | Sequence[str]):
    """A function x -> list of [B, d] representations for the requested layer(s)."""
    if layer == "penultimate":
        feats = getattr(model, "features", None)
        if not callable(feats):
            raise ValueError("layer='penultimate' needs model.features(x)")
        return lambda x: [feats(x)]
    if layer == "logits":
        return lambda x: [model(x)]
    names = [layer] if isinstance(layer, str) else list(layer)
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise ValueError(f"unknown layer(s) {missing}; use 'penultimate', 'logits' or module names")

    def run(x):
        store: dict[str, torch.Tensor] = {}
        hooks = [
            modules[n].register_forward_hook(lambda _m, _i, out, n=n: store.__setitem__(n, out))
            for n in names
        ]
        try:
            model(x)
        finally:
            for h in hooks:
                h.remove()
        return [store[n] for n in names]

    return run


def model_cka(
    model_a: nn.Module,
    model_b: nn.Module,
    data,
    device="cpu",
    batch_size: int = 256,
    layer: str | Sequence[str] = "penultimate",
) -> float:
    """Batch-averaged linear CKA x 100 between two models' representations of ``data``.

    ``layer``: ``"penultimate"`` (``model.features``), ``"logits"``, a module name, or a list of module
    names (e.g. every stage: ``["layer1", "layer2", "layer3", "layer4"]``), whose CKAs are averaged.
    """
    device = torch.device(device)
    model_a.to(device)
    model_b.to(device)
    fa, fb = _layer_fn(model_a, layer), _layer_fn(model_b, layer)
    per_layer: list[list[float]] | None = None
    with eval_mode(model_a), eval_mode(model_b):
        for x, _ in iterate_batches(data, batch_size):
            if len(x) < 2:
                continue
            x = x.to(device)
            outs = [linear_cka(a, b) for a, b in zip(fa(x), fb(x), strict=True)]
            if per_layer is None:
                per_layer = [[] for _ in outs]
            for acc, v in zip(per_layer, outs, strict=True):
                if not np.isnan(v):
                    acc.append(v)
    if not per_layer or not any(per_layer):
        return float("nan")
    return float(100.0 * np.mean([np.mean(v) for v in per_layer if v]))

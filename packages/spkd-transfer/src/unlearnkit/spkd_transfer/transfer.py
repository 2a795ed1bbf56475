"""Transfer probes of an unlearned model: k-NN accuracy on downstream data and CKA to the retrained model.

Both probes freeze the model and read a layer's features. k-NN asks "are downstream classes still
separable?" without fitting anything; CKA asks "does the representation look like the one a model that
never saw the forgotten classes would have?". The metric maths is the shared core's (cosine k-NN with a
seeded stratified split, float64 linear CKA); this module only picks layers and feeds batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.inference import eval_mode, iterate_batches
from unlearnkit.shared.metrics.cka import linear_cka
from unlearnkit.shared.metrics.knn import knn_split, knn_transfer_accuracy

from .features import LayerTaps, resolve_layers

__all__ = ["FEATURE_LAYERS", "layer_features", "knn_transfer", "cka_to_reference"]

FEATURE_LAYERS = ("penultimate", "logits")


def layer_features(
    model: nn.Module, data, layer: str = "penultimate", device="cpu", batch_size: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``[N, d]`` of one layer and the targets, on the CPU, in data order."""
    (name,) = resolve_layers(model, [layer])
    device = torch.device(device)
    model.to(device)
    taps = LayerTaps(model, [name])
    feats, ys = [], []
    with eval_mode(model):
        for x, y in iterate_batches(data, batch_size):
            feats.append(taps(x.to(device))[name].float().cpu())
            ys.append(y.long().reshape(-1).cpu())
    if not feats:
        raise ValueError("no samples to extract features from")
    return torch.cat(feats), torch.cat(ys)


def knn_transfer(
    model: nn.Module,
    data,
    *,
    k: int = 5,
    test_size: float = 0.2,
    seed: int = 0,
    repeats: int = 1,
    feature_layer: str = "penultimate",
    device="cpu",
    batch_size: int = 256,
) -> float:
    """Cosine k-NN accuracy (percent) of ``model``'s features on a seeded 80/20 split of ``data``.

    The split depends only on the labels and ``seed``, so every model in a comparison is probed on the same
    train/test partition. NaN when the model produces non-finite features. ``repeats`` > 1 averages
    over the splits of seeds ``seed .. seed+repeats-1``: on a small downstream set (digits: 72 test images,
    1.4 points each) one split's noise is as large as the effects being compared.
    """
    if k < 1 or repeats < 1:
        raise UnlearnkitError(f"k-NN needs k >= 1 and repeats >= 1, got k={k}, repeats={repeats}")
    feats, ys = layer_features(model, data, feature_layer, device=device, batch_size=batch_size)
    n_train = len(knn_split(ys.numpy(), test_size=test_size, seed=seed)[0])
    if k > n_train:  # scikit-learn would silently use every point: a k that was never asked for
        raise UnlearnkitError(f"--k {k} is larger than the {n_train} k-NN training samples of this data set")
    if not torch.isfinite(feats).all():
        return float("nan")  # a diverged model (e.g. gradient ascent run too long): no accuracy to report
    accs = [knn_transfer_accuracy(feats, ys, k=k, test_size=test_size, seed=seed + r) for r in range(repeats)]
    return float(np.mean(accs))


def cka_to_reference(
    model: nn.Module,
    reference: nn.Module,
    data,
    *,
    layers: str | Sequence[str] = "penultimate",
    device="cpu",
    batch_size: int = 256,
) -> dict:
    """Linear CKA x 100 between ``model`` and ``reference`` per layer, averaged over batches as the paper
    does (memory stays bounded for ImageNet-sized sets), plus ``mean`` over the layers.

    Batches of one sample or with no variance are skipped (CKA is undefined there).
    """
    names = resolve_layers(model, layers)
    resolve_layers(reference, names)
    device = torch.device(device)
    model.to(device)
    reference.to(device)
    ta, tb = LayerTaps(model, names), LayerTaps(reference, names)
    acc: dict[str, list[float]] = {n: [] for n in names}
    with eval_mode(model), eval_mode(reference):
        for x, _ in iterate_batches(data, batch_size):
            if len(x) < 2:
                continue
            x = x.to(device)
            fa, fb = ta(x), tb(x)
            for n in names:
                v = linear_cka(fa[n], fb[n])
                if not np.isnan(v):
                    acc[n].append(v)
    per_layer = {n: (100.0 * float(np.mean(v)) if v else float("nan")) for n, v in acc.items()}
    finite = [v for v in per_layer.values() if not np.isnan(v)]
    return {"layers": per_layer, "mean": float(np.mean(finite)) if finite else float("nan")}

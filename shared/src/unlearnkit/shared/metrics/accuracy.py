"""Classification accuracies and the UA / RA / TA triple every unlearning table reports."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..inference import predict

__all__ = ["accuracy_from_logits", "topk_accuracy", "accuracy", "unlearning_accuracies"]


def _as_tensor(a) -> torch.Tensor:
    return a if torch.is_tensor(a) else torch.as_tensor(a)


def topk_accuracy(logits, targets, ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Percent of rows whose target is among the k largest logits, for each k.

    k is clipped to the number of classes so that top-5 on a 3-class problem is 100 rather than an error.
    An empty input gives NaN: an empty split has no accuracy, and 0 would look like a real result.
    """
    logits = _as_tensor(logits)
    targets = _as_tensor(targets).long().reshape(-1)
    n = targets.numel()
    if n == 0:
        return {int(k): math.nan for k in ks}
    if logits.ndim != 2 or logits.shape[0] != n:
        raise ValueError(f"logits must be [N, C] with N={n}, got {tuple(logits.shape)}")
    kmax = min(max(ks), logits.shape[1])
    top = logits.topk(kmax, dim=1).indices
    hits = top == targets[:, None]
    return {int(k): 100.0 * hits[:, : min(k, kmax)].any(dim=1).float().mean().item() for k in ks}


def accuracy_from_logits(logits, targets) -> float:
    """Top-1 accuracy in percent (NaN for no samples)."""
    return topk_accuracy(logits, targets, ks=(1,))[1]


def accuracy(model, data, device="cpu", batch_size: int = 256) -> float:
    """Top-1 accuracy (percent) of ``model`` on a Dataset or DataLoader."""
    logits, targets = predict(model, data, device=device, batch_size=batch_size)
    return accuracy_from_logits(logits, targets)


def unlearning_accuracies(model, splits, device="cpu", batch_size: int = 256) -> dict[str, float]:
    """UA = 100 - acc(forget), RA = acc(retain), TA = acc(test), plus TA_forget / TA_retain when the
    splits carry the forgotten classes' test part (class requests).

    UA is reported as an error rate so that "higher = more forgotten" reads the same way as MIA-efficacy.
    A split that is None is skipped rather than reported as 0.
    """
    out: dict[str, float] = {}
    forget = getattr(splits, "forget", None)
    if forget is not None:
        out["UA"] = 100.0 - accuracy(model, forget, device, batch_size)
    for key, attr in (
        ("RA", "retain"),
        ("TA", "test"),
        ("TA_forget", "test_forget"),
        ("TA_retain", "test_retain"),
    ):
        ds = getattr(splits, attr, None)
        if ds is not None:
            out[key] = accuracy(model, ds, device, batch_size)
    return out

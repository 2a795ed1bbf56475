"""Naive PS on a model: extract the training features, apply the closed form, write the new prototypes.

Features come from the original model in eval mode on un-augmented images (the published code used the
training augmentation, so its features were random draws, and only classes 0-9). The bias and every other
tensor stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.inference import extract_features

from .decomposition import naive_ps_weight, resolve_solver
from .selection import classifier_of

__all__ = ["NaivePSParams", "naive_prototype_surgery", "init_classifier_weight"]


@dataclass
class NaivePSParams:
    """``solver``: auto (pinv when N <= d, least squares above), pinv or lstsq."""

    solver: str = "auto"
    batch_size: int = 256


def init_classifier_weight(meta: dict | None) -> torch.Tensor:
    """``W_init`` from a checkpoint's meta (``meta["init_classifier"]["weight"]``), saved when the original
    model was trained; a clear error when the checkpoint predates that."""
    init = (meta or {}).get("init_classifier")
    if not isinstance(init, dict) or init.get("weight") is None:
        raise UnlearnkitError(
            "Naive PS needs the model's initial final-layer weights; the checkpoint has no "
            "meta['init_classifier'] (train it with `ps-unlearn train` or `unlearnkit train`, or pass --init)"
        )
    return torch.as_tensor(init["weight"])


def naive_prototype_surgery(
    model: nn.Module,
    retain_set: Dataset,
    forget_set: Dataset,
    w_init: torch.Tensor,
    params: NaivePSParams | None = None,
    *,
    device="cpu",
) -> dict:
    """Unlearn ``forget_set`` from ``model`` in place; ``retain_set`` + ``forget_set`` = the training set.

    The decomposition does not depend on the order of the samples, so the features are stacked as
    retain-then-forget and the forget rows are the last ones.
    """
    params = params or NaivePSParams()
    head = classifier_of(model)
    if tuple(w_init.shape) != tuple(head.weight.shape):
        raise UnlearnkitError(
            f"initial weights have shape {tuple(w_init.shape)}, the final layer {tuple(head.weight.shape)}"
        )
    if len(forget_set) == 0:
        raise UnlearnkitError("the forget set is empty")
    f_retain, _ = extract_features(model, retain_set, device=device, batch_size=params.batch_size)
    f_forget, _ = extract_features(model, forget_set, device=device, batch_size=params.batch_size)
    feats = torch.cat([f_retain, f_forget]).double().numpy()
    n_r = len(f_retain)
    solver = resolve_solver(params.solver, feats.shape[0], feats.shape[1])
    w_new = naive_ps_weight(head.weight, w_init, feats, range(n_r, feats.shape[0]), solver=solver)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(w_new).to(head.weight))
    return {
        "solver": solver,
        "num_samples": int(feats.shape[0]),
        "feature_dim": int(feats.shape[1]),
        "num_forget": int(len(f_forget)),
    }

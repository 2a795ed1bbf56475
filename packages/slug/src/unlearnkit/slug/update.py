"""The single-layer update, applied in place and undone exactly, so a search over many step sizes never
needs more than one copy of the model (a fresh copy per trial would be 600 MB for ViT-B-32)."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from ._core import UnlearnkitError


def get_parameter(model: nn.Module, name: str) -> nn.Parameter:
    params = dict(model.named_parameters())
    if name not in params:
        raise UnlearnkitError(f"the model has no parameter {name!r}")
    return params[name]


def edited_tensor(theta: torch.Tensor, grad: torch.Tensor, step: float) -> torch.Tensor:
    """theta + step * grad(1 - cos): a step UP the forget loss, i.e. the paper's theta - lambda * (gradient
    of the image-caption similarity). The forget pairs' cosine therefore goes down (tested)."""
    if grad.shape != theta.shape:
        raise UnlearnkitError(f"gradient shape {tuple(grad.shape)} != parameter shape {tuple(theta.shape)}")
    return theta + step * grad.to(theta.device, theta.dtype)


@contextmanager
def single_layer_edit(model: nn.Module, name: str, grad: torch.Tensor, step: float):
    """Apply the update to one tensor for the duration of the block, then restore the original bits."""
    p = get_parameter(model, name)
    original = p.detach().clone()
    with torch.no_grad():
        p.copy_(edited_tensor(original, grad, step))
    try:
        yield model
    finally:
        with torch.no_grad():
            p.copy_(original)


def apply_single_layer_update(model: nn.Module, name: str, grad: torch.Tensor, step: float) -> nn.Module:
    """Permanent version (for the saved unlearned model): only ``name`` changes."""
    p = get_parameter(model, name)
    with torch.no_grad():
        p.copy_(edited_tensor(p.detach().clone(), grad, step))
    return model


def initial_ratio(theta: torch.Tensor, grad: torch.Tensor) -> float:
    """r0 = ||theta|| / ||g||: the step at which the update is as large as the weights themselves."""
    gn = grad.float().norm().item()
    if gn == 0:
        raise UnlearnkitError("the forget gradient of this tensor is zero")
    return theta.float().norm().item() / gn

"""SSD (Foster et al. 2024, "Fast machine unlearning without retraining through selective synaptic dampening").

No training: the diagonal Fisher information (mean squared gradient of the cross-entropy) is computed on the
forget set and on the full training data (forget + retain). Weights far more important to the forget set
than to the training data (forget_imp > alpha * train_imp) are scaled by min(lambda * train_imp /
forget_imp, 1). Paper defaults: alpha (selection weighting) = 10, lambda (dampening constant) = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import ConcatDataset

from ..base import MethodSpec, UnlearnContext, register_method
from ._common import summed_batch_gradients


@dataclass
class SSDParams:
    alpha: float = 10.0
    dampening: float = 1.0  # lambda
    batch_size: int = 64


def fisher_diagonal(model: nn.Module, data, device, batch_size: int = 64) -> dict[str, torch.Tensor]:
    """Mean over batches of the squared gradient of the batch cross-entropy (eval mode: BN stats fixed)."""
    sums, batches = summed_batch_gradients(model, data, device, batch_size, transform=lambda g: g.pow(2))
    return {n: t / max(1, batches) for n, t in sums.items()}


@torch.no_grad()
def dampen(model: nn.Module, forget_imp: dict, train_imp: dict, alpha: float, dampening: float) -> int:
    """Scale the selected weights in place; returns how many were dampened."""
    changed = 0
    for name, p in model.named_parameters():
        if name not in forget_imp:
            continue
        f, t = forget_imp[name], train_imp[name]
        selected = f > alpha * t
        factor = (dampening * t / f.clamp_min(torch.finfo(f.dtype).tiny)).clamp(max=1.0)
        p.mul_(torch.where(selected, factor, torch.ones_like(factor)))
        changed += int(selected.sum())
    return changed


def ssd(model: nn.Module, ctx: UnlearnContext, p: SSDParams) -> nn.Module:
    device = torch.device(ctx.device)
    model.to(device)
    forget_imp = fisher_diagonal(model, ctx.forget, device, p.batch_size)
    train_imp = fisher_diagonal(model, ConcatDataset([ctx.forget, ctx.retain]), device, p.batch_size)
    dampen(model, forget_imp, train_imp, p.alpha, p.dampening)
    return model


SPEC = register_method(MethodSpec(name="ssd", fn=ssd, params_cls=SSDParams,
                                  description="Selective Synaptic Dampening (Fisher-based, no training)."))

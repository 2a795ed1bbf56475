"""l1-sparse (Jia et al. 2023, "Model sparsity can simplify machine unlearning"): FT plus an l1 penalty.

Loss = CE(retain) + alpha_t * ||theta||_1 with alpha_t = alpha * (1 - epoch / E): strong sparsity early,
plain fine-tuning at the end. The step function reads the epoch from a counter that fit's ``on_epoch_end``
advances. Paper defaults (CIFAR-10 ResNet-18): 10 epochs, lr 0.1, alpha in [5e-5, 5e-4].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...train.loop import fit
from ..base import MethodSpec, UnlearnContext, register_method
from ._common import SGDParams, fit_kwargs, train_config


@dataclass
class L1SparseParams(SGDParams):
    epochs: int = 5
    lr: float = 0.1
    alpha: float = 5e-4


class DecayingL1:
    """The step function plus the epoch counter its coefficient depends on."""

    def __init__(self, alpha: float, epochs: int):
        self.alpha, self.epochs, self.epoch = alpha, max(1, epochs), 0

    @property
    def coefficient(self) -> float:
        return self.alpha * (1.0 - self.epoch / self.epochs)

    def __call__(self, model: nn.Module, batch: tuple) -> torch.Tensor:
        loss = F.cross_entropy(model(batch[0]), batch[1])
        coef = self.coefficient
        if coef > 0:
            loss = loss + coef * sum(p.abs().sum() for p in model.parameters() if p.requires_grad)
        return loss

    def on_epoch_end(self, epoch: int, model: nn.Module) -> None:
        self.epoch = epoch + 1


def l1_sparse(model: nn.Module, ctx: UnlearnContext, p: L1SparseParams) -> nn.Module:
    step = DecayingL1(p.alpha, p.epochs)
    fit(model, ctx.retain, train_config(p, ctx), step_fn=step, on_epoch_end=step.on_epoch_end,
        description="l1_sparse", **fit_kwargs(ctx))
    return model


SPEC = register_method(MethodSpec(name="l1_sparse", fn=l1_sparse, params_cls=L1SparseParams,
                                  description="Fine-tune with a linearly decaying l1 penalty."))

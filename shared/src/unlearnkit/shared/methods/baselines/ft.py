"""FT (fine-tuning): cross-entropy on the retain set only, relying on catastrophic forgetting.

Paper defaults (SalUn / Unlearn-Sparse, CIFAR-10 ResNet-18): 10 epochs, lr in [0.01, 0.1], SGD.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ...train.loop import fit
from ..base import MethodSpec, UnlearnContext, register_method
from ._common import SGDParams, fit_kwargs, train_config


@dataclass
class FTParams(SGDParams):
    epochs: int = 5
    lr: float = 0.1


def finetune(model: nn.Module, ctx: UnlearnContext, p: FTParams) -> nn.Module:
    fit(model, ctx.retain, train_config(p, ctx), description="ft", **fit_kwargs(ctx))
    return model


SPEC = register_method(MethodSpec(name="ft", fn=finetune, params_cls=FTParams,
                                  description="Fine-tune on the retain set (cross-entropy)."))

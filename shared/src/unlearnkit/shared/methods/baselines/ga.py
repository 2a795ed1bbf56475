"""GA (gradient ascent): minus cross-entropy on the forget set with its true labels.

Unbounded by design, so it needs a small learning rate and few steps. Paper defaults (SalUn, CIFAR-10):
5 epochs, lr in [1e-6, 1e-3].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import nn

from ...train.loop import fit
from ..base import MethodSpec, UnlearnContext, register_method
from ._common import SGDParams, fit_kwargs, train_config


@dataclass
class GAParams(SGDParams):
    epochs: int = 5
    lr: float = 0.003


def ascent_step(model: nn.Module, batch: tuple):
    return -F.cross_entropy(model(batch[0]), batch[1])


def gradient_ascent(model: nn.Module, ctx: UnlearnContext, p: GAParams) -> nn.Module:
    fit(model, ctx.forget, train_config(p, ctx), step_fn=ascent_step, description="ga", **fit_kwargs(ctx))
    return model


SPEC = register_method(MethodSpec(name="ga", fn=gradient_ascent, params_cls=GAParams, needs_retain=False,
                                  description="Gradient ascent on the forget set."))

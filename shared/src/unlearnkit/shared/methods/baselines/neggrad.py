"""NegGrad+ (Kurmanji et al. 2023): descend on the retain set and ascend on the forget set in the same step.

The loop walks the retain set; each step also draws the next forget batch from a cycling loader, so the
forget set is revisited as often as needed. Loss = CE(retain) - beta * CE(forget).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import nn

from ...train.loop import fit
from ..base import MethodSpec, UnlearnContext, register_method
from ._common import SGDParams, cycle, fit_kwargs, to_device, train_config


@dataclass
class NegGradParams(SGDParams):
    """``beta`` weighs the forget term (SCRUB's NegGrad+ tunes it in [0.9, 0.999] with alpha = 1 - beta on
    the retain term; here the retain term keeps weight 1)."""

    epochs: int = 2
    lr: float = 0.01
    beta: float = 0.05


def neggrad_step(ctx: UnlearnContext, p: NegGradParams):
    forget_batches = cycle(ctx.forget, p.batch_size, seed=ctx.seed + 1)

    def step(model: nn.Module, batch: tuple):
        xf, yf = to_device(next(forget_batches), batch[0].device)[:2]
        retain_loss = F.cross_entropy(model(batch[0]), batch[1])
        return retain_loss - p.beta * F.cross_entropy(model(xf), yf)

    return step


def neggrad_plus(model: nn.Module, ctx: UnlearnContext, p: NegGradParams) -> nn.Module:
    fit(model, ctx.retain, train_config(p, ctx), step_fn=neggrad_step(ctx, p), description="neggrad",
        **fit_kwargs(ctx))
    return model


SPEC = register_method(MethodSpec(name="neggrad", fn=neggrad_plus, params_cls=NegGradParams,
                                  description="NegGrad+: retain CE minus beta * forget CE."))

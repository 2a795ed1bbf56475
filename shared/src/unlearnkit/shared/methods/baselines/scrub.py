"""SCRUB (Kurmanji et al. 2023, "Towards unbounded machine unlearning"): a student that disobeys its teacher.

Teacher = the frozen original. Each epoch the student first (for the first ``msteps`` epochs) takes a
max-step pass over the forget set, maximising KL(teacher || student), then a min-step pass over the
retain set minimising ``alpha * KL + gamma * CE``; the remaining epochs are min-steps only, to repair what
the max-steps broke. Each pass is one call to ``fit`` (so momentum restarts per pass; the loop stays the
one every method shares). Paper code defaults (CIFAR-10 ResNet): T = 4, alpha = 0.001, gamma = 0.99,
msteps 2-5, 3-10 epochs, SGD lr 5e-4, forget batch 16-64, retain batch 64-128.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...train.loop import fit
from ..base import MethodSpec, UnlearnContext, register_method
from ._common import SGDParams, fit_kwargs, kl_to_teacher, train_config


@dataclass
class SCRUBParams(SGDParams):
    epochs: int = 2
    msteps: int = 1
    lr: float = 0.005
    forget_batch_size: int = 32
    temperature: float = 4.0
    alpha: float = 0.001  # weight of KL(teacher || student) on the retain set
    gamma: float = 0.99  # weight of the cross-entropy on the retain set


def max_step(teacher: nn.Module, p: SCRUBParams):
    def step(model: nn.Module, batch: tuple) -> torch.Tensor:
        with torch.no_grad():
            t = teacher(batch[0])
        return -kl_to_teacher(model(batch[0]), t, p.temperature)

    return step


def min_step(teacher: nn.Module, p: SCRUBParams):
    def step(model: nn.Module, batch: tuple) -> torch.Tensor:
        out = model(batch[0])
        with torch.no_grad():
            t = teacher(batch[0])
        return p.alpha * kl_to_teacher(out, t, p.temperature) + p.gamma * F.cross_entropy(out, batch[1])

    return step


def scrub(model: nn.Module, ctx: UnlearnContext, p: SCRUBParams) -> nn.Module:
    teacher = ctx.original.to(ctx.device)
    for epoch in range(p.epochs):
        if epoch < p.msteps:
            fit(model, ctx.forget, train_config(p, ctx, epochs=1, seed_offset=2 * epoch,
                                                batch_size=p.forget_batch_size),
                step_fn=max_step(teacher, p), description=f"scrub max {epoch + 1}", **fit_kwargs(ctx))
        fit(model, ctx.retain, train_config(p, ctx, epochs=1, seed_offset=2 * epoch + 1),
            step_fn=min_step(teacher, p), description=f"scrub min {epoch + 1}", **fit_kwargs(ctx))
    return model


SPEC = register_method(MethodSpec(name="scrub", fn=scrub, params_cls=SCRUBParams,
                                  description="SCRUB: max KL to the original on forget, min on retain."))

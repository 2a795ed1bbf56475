"""RL (random labels): train on the forget set with uniformly random wrong labels, together with the retain set.

As SalUn's RL does it: one joint data set (relabelled forget + retain), shuffled together, so every batch
mixes forgetting and repair. Paper defaults (SalUn, CIFAR-10): 10 epochs, lr 0.01.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from torch.utils.data import ConcatDataset, Dataset

from ...train.loop import fit
from ..base import MethodSpec, UnlearnContext, register_method
from ._common import SGDParams, fit_kwargs, relabelled_forget, train_config


@dataclass
class RLParams(SGDParams):
    epochs: int = 2
    lr: float = 0.01


def random_label_set(ctx: UnlearnContext) -> Dataset:
    """Forget samples with random wrong labels, plus the retain set (when there is one)."""
    forget = relabelled_forget(ctx)
    return forget if ctx.retain is None else ConcatDataset([forget, ctx.retain])


def random_label(model: nn.Module, ctx: UnlearnContext, p: RLParams) -> nn.Module:
    fit(model, random_label_set(ctx), train_config(p, ctx), description="rl", **fit_kwargs(ctx))
    return model


SPEC = register_method(MethodSpec(name="rl", fn=random_label, params_cls=RLParams,
                                  description="Random wrong labels on the forget set, plus the retain set."))

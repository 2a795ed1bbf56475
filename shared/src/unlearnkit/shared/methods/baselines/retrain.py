"""Retrain: the gold standard every approximate method is measured against.

A fresh model of the original's architecture trained on the retain set only, with the original's own
training recipe (``meta["train_config"]``) so the only difference from the original is the missing data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from ...train.config import TrainConfig
from ...train.loop import fit
from ..base import MethodSpec, UnlearnContext, register_method
from ._common import fit_kwargs, fresh_model


@dataclass
class RetrainParams:
    """Used only when the original checkpoint does not store its training config; ``epochs`` > 0 overrides
    the stored number of epochs (quick looks; the gold standard uses the original's)."""

    epochs: int = 0
    batch_size: int = 64
    lr: float = 0.05
    fallback_epochs: int = 20
    pretrained: bool = False  # start from the same pretrained init (also taken from meta["pretrained"])


def retrain_config(ctx: UnlearnContext, p: RetrainParams) -> TrainConfig:
    stored = ctx.meta.get("train_config")
    if stored:
        cfg = TrainConfig.from_dict(stored)
    else:
        cfg = TrainConfig(epochs=p.fallback_epochs, batch_size=p.batch_size, lr=p.lr, schedule="cosine")
    cfg = replace(cfg, seed=ctx.seed)
    return replace(cfg, epochs=p.epochs) if p.epochs > 0 else cfg


def retrain(model: nn.Module, ctx: UnlearnContext, p: RetrainParams) -> nn.Module:
    pretrained = p.pretrained or bool(ctx.meta.get("pretrained", False))
    fresh = fresh_model(ctx.original, seed=ctx.seed, pretrained=pretrained).to(ctx.device)
    fit(fresh, ctx.retain, retrain_config(ctx, p), description="retrain", **fit_kwargs(ctx))
    return fresh


SPEC = register_method(MethodSpec(
    name="retrain", fn=retrain, params_cls=RetrainParams, reference=True,
    description="Retrain from scratch on the retain set (gold standard)."))

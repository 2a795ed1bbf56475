"""Optimisers and learning-rate schedules by name."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from ..errors import UnlearnkitError
from ..registry import Registry
from .config import TrainConfig

OPTIMIZERS: Registry = Registry("optimizer")
OPTIMIZERS.register("sgd", lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay))
OPTIMIZERS.register("adam", lambda p, c: torch.optim.Adam(p, lr=c.lr, weight_decay=c.weight_decay))
OPTIMIZERS.register("adamw", lambda p, c: torch.optim.AdamW(p, lr=c.lr, weight_decay=c.weight_decay))


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if not params:
        raise UnlearnkitError("nothing to train: no parameter requires a gradient")
    return OPTIMIZERS.get(cfg.optimizer)(params, cfg)


def lr_factor(epoch: int, cfg: TrainConfig) -> float:
    """Multiplier of the base learning rate for ``epoch`` (0-based): linear warm-up, then the schedule."""
    if epoch < cfg.warmup_epochs:
        return (epoch + 1) / (cfg.warmup_epochs + 1)
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "cosine":
        span = max(1, cfg.epochs - cfg.warmup_epochs)
        return 0.5 * (1 + math.cos(math.pi * (epoch - cfg.warmup_epochs) / span))
    if cfg.schedule == "multistep":
        return cfg.gamma ** sum(epoch >= m for m in cfg.milestones)
    raise UnlearnkitError(f"unknown schedule {cfg.schedule!r}; choose cosine, multistep or constant")


def build_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    lr_factor(0, cfg)  # validate the name early
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda e: lr_factor(e, cfg))

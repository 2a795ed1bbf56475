"""SCAR's hyper-parameters, named as in the published ``main.py`` so ``--lambda_1`` means the same thing."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from unlearnkit.shared.errors import UnlearnkitError

__all__ = ["ScarParams", "HR_THRESHOLDS"]

# HR: classes whose forget accuracy is below this stop being pushed (0.4 for Tiny ImageNet in the paper).
HR_THRESHOLDS = {"tinyimagenet": 0.4}


@dataclass
class ScarParams:
    """Defaults are the paper's CIFAR settings (ResNet-18, batch 1024, Adam 5e-4, <= 30 epochs)."""

    lambda_1: float = 1.0  # weight of the Mahalanobis forget loss
    lambda_2: float = 5.0  # weight of the distillation loss
    temperature: float = 1.0  # softens the teacher's logits in the distillation
    delta: float = 0.5  # Tukey exponent
    gamma1: float = 3.0  # diagonal shrinkage
    gamma2: float = 3.0  # off-diagonal shrinkage
    lr: float = 5e-4
    epochs: int = 30
    bsize: int = 1024  # batch size of both the forget and the surrogate loader
    wd: float = 0.0
    momentum: float = 0.9  # kept for CLI parity: SCAR uses Adam, which has no momentum knob
    scheduler: tuple[int, ...] = field(default_factory=tuple)  # MultiStepLR milestones (gamma 0.5); none = constant
    num_surrogate_batches: int = 5  # per forget batch, num_surrogate_batches + 1 optimiser steps
    stats_from: Literal["surrogate", "retain"] = "surrogate"  # surrogate (retain-free) | retain (published code)
    # single: shrink the covariance once (the paper's formula); published: shrink twice in SCAR (both CR and
    # HR), once in SCAR_self, as the published code does
    shrinkage: Literal["single", "published"] = "single"
    divergence: Literal["kl", "js"] = "kl"  # kl (published code) | js (paper text)
    target: float | None = None  # stop threshold (fraction); None = 0.01 in CR, original test acc - 0.015 in HR
    hr_margin: float = 0.015
    hr_threshold: float | None = None  # None = 0.8 (0.4 for Tiny ImageNet)
    min_epochs: int = 2  # the published code only stops once epoch index > 1
    check_every: Literal["step", "batch", "epoch"] = "step"  # step (published) | batch (once per forget batch) | epoch
    freeze_bn: bool | None = None  # keep BatchNorm statistics fixed; None = preset, else off (published code)
    surrogate: str = "photos"  # photos | noise | folder | webdataset | dataset
    surrogate_path: str | None = None
    surrogate_quantity: int = 10  # chunks of 1,000 images
    min_class_count: int = 2  # classes with fewer surrogate images get no statistics
    seed: int = 0

    def __post_init__(self):
        self.scheduler = tuple(int(m) for m in self.scheduler)
        self.validate()

    def validate(self) -> None:
        """Refuse values that would crash later or silently do nothing (also for ``--param`` and the bench)."""
        def need(ok: bool, name: str, rule: str) -> None:
            if not ok:
                raise UnlearnkitError(f"SCAR parameter {name}={getattr(self, name)!r} is not allowed: {rule}")

        def finite(name: str) -> bool:
            v = getattr(self, name)
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        for name in ("temperature", "lr", "delta"):
            need(finite(name) and getattr(self, name) > 0, name, "must be a finite number > 0")
        for name in ("lambda_1", "lambda_2", "gamma1", "gamma2", "wd", "momentum", "hr_margin"):
            need(finite(name) and getattr(self, name) >= 0, name, "must be a finite number >= 0")
        for name in ("epochs", "bsize", "surrogate_quantity", "min_class_count"):
            need(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, name, "must be an integer >= 1")
        for name in ("num_surrogate_batches", "min_epochs", "seed"):
            need(isinstance(getattr(self, name), int) and getattr(self, name) >= 0, name, "must be an integer >= 0")
        for name in ("target", "hr_threshold"):
            v = getattr(self, name)
            need(v is None or (finite(name) and 0 <= v <= 1), name, "must be a fraction in [0, 1]")
        need(all(m >= 1 for m in self.scheduler), "scheduler", "milestones are epochs >= 1")
        for name, choices in (("stats_from", ("surrogate", "retain")), ("shrinkage", ("single", "published")),
                              ("divergence", ("kl", "js")), ("check_every", ("step", "batch", "epoch"))):
            need(getattr(self, name) in choices, name, "choose " + " or ".join(choices))

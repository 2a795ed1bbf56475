"""Per-data-set defaults, as the paper's supplementary gives per-data-set hyper-parameters.

A preset value applies only where a parameter is left at its paper (CIFAR) default, so an explicit flag
always wins. Digits gets smaller batches, a higher learning rate and fewer surrogate steps per forget batch: its forget
set is ~150 images, so batch 1024 would mean one huge step per epoch and a CPU run slower than retraining.
It also freezes BatchNorm statistics: LeNet-5's BatchNorm otherwise drifts to the surrogate photos' statistics
and costs ~5 points of retain accuracy (measured; see the README).
"""

from __future__ import annotations

from dataclasses import fields, replace

from unlearnkit.shared.registry import Registry

from .params import ScarParams

__all__ = ["PRESETS", "apply_preset"]

PRESETS: Registry[dict] = Registry("SCAR preset")
PRESETS.register("digits", {"bsize": 64, "lr": 3e-3, "num_surrogate_batches": 2, "surrogate_quantity": 5,
                            "check_every": "batch", "freeze_bn": True})
PRESETS.register("cifar10", {})
PRESETS.register("cifar100", {})
PRESETS.register("tinyimagenet", {"num_surrogate_batches": 90, "hr_threshold": 0.4})


def apply_preset(params: ScarParams, dataset: str | None) -> ScarParams:
    """``params`` with the data set's preset filled in where ``params`` still holds the global default."""
    if not dataset or dataset not in PRESETS:
        return params
    defaults = ScarParams()
    preset = PRESETS.get(dataset)
    names = {f.name for f in fields(ScarParams)}
    changes = {k: v for k, v in preset.items() if k in names and getattr(params, k) == getattr(defaults, k)}
    return replace(params, **changes)

"""SPKD's entry in the shared method registry, so ``unlearnkit bench`` and ``forget --method`` find it.

Each distillation loss is its own method name (``spkd``, ``spkd_rkd``, ``spkd_akd``): the bench compares
methods by name with default parameters, and the loss is the part of SPKD worth comparing.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from unlearnkit.shared.methods import MethodSpec, UnlearnContext

from .spkd import SPKDParams, spkd_unlearn

__all__ = ["register", "SPKDRKDParams", "SPKDAKDParams"]


@dataclass
class SPKDRKDParams(SPKDParams):
    distill: str = "rkd"


@dataclass
class SPKDAKDParams(SPKDParams):
    distill: str = "akd"


def _run(model: nn.Module, ctx: UnlearnContext, params: SPKDParams) -> nn.Module:
    return spkd_unlearn(model, ctx, params)


_VARIANTS = (
    ("spkd", SPKDParams, "similarity-preserving (Gram) distillation"),
    ("spkd_rkd", SPKDRKDParams, "RKD distance distillation"),
    ("spkd_akd", SPKDAKDParams, "RKD angle distillation"),
)


def register() -> list[MethodSpec]:
    """Entry point ``unlearnkit.methods: spkd_transfer``: one spec per distillation loss."""
    return [
        MethodSpec(
            name=name,
            fn=_run,
            params_cls=cls,
            description=f"SPKD: gradient ascent on forget + CE and {what} to the original on retain.",
            needs_retain=True,
            kinds=("class", "random", "subclass", "indices"),
            package="unlearnkit-spkd-transfer",
        )
        for name, cls, what in _VARIANTS
    ]

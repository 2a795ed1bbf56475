"""Bench methods ``naive_ps`` and ``ps`` (entry point ``unlearnkit.methods: ps_unlearn``).

The bench knows nothing of ``--data`` presets, so the PS defaults are the paper's MNIST ones (50 epochs,
lr 0.01) with early stopping at the forget accuracy a retrained model would have (``stop_at="auto"``).
Naive PS reads ``W_init`` from the original checkpoint's ``meta["init_classifier"]``; for checkpoints
without it the spec's ``requires_meta`` makes the bench skip the method with a reason instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn
from unlearnkit.shared.methods import MethodSpec, UnlearnContext

from .naive import NaivePSParams, init_classifier_weight, naive_prototype_surgery
from .ps import PSParams, prototype_surgery
from .stopping import stop_target

__all__ = ["PSBenchParams", "register"]


@dataclass
class PSBenchParams(PSParams):
    """PS's own settings plus the bench's stopping rule; ``seed`` and ``target_forget_acc`` come from the run."""

    stop_at: str = "auto"


def _naive_ps(model: nn.Module, ctx: UnlearnContext, params: NaivePSParams) -> nn.Module:
    w_init = init_classifier_weight(ctx.meta)
    naive_prototype_surgery(model, ctx.retain, ctx.forget, w_init, params, device=ctx.device)
    return model


def _ps(model: nn.Module, ctx: UnlearnContext, params: PSBenchParams) -> nn.Module:
    target = stop_target(
        params.stop_at,
        ctx.original,
        ctx.forget,
        ctx.test,
        class_wise=ctx.request.kind == "class",
        device=ctx.device,
    )
    ps_params = replace(params, seed=ctx.seed, target_forget_acc=target)
    prototype_surgery(model, ctx.forget, ps_params, device=ctx.device, progress=bool(ctx.progress))
    return model


def register() -> list[MethodSpec]:
    package = "unlearnkit-ps-unlearn"
    return [
        MethodSpec(
            name="naive_ps",
            fn=_naive_ps,
            params_cls=NaivePSParams,
            description="Prototype Surgery, closed form: drop the forget samples' share of the final-layer change",
            needs_retain=True,
            requires_meta=("init_classifier",),
            # The paper forgets samples of ONE class. With forget samples spread over every class (a random
            # request) the least-squares shares of the final-layer change are ill-posed: measured on digits,
            # test accuracy fell to 29%. So the bench only offers it where the paper defines it.
            kinds=("class", "subclass"),
            package=package,
        ),
        MethodSpec(
            name="ps",
            fn=_ps,
            params_cls=PSBenchParams,
            description="Prototype Surgery: soft-relabel the forget set, fine-tune only the final layer",
            needs_retain=False,
            package=package,
        ),
    ]

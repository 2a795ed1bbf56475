"""SCAR and SCAR_self as registered unlearning methods, so ``unlearnkit bench`` runs them next to the
shared baselines (entry point group ``unlearnkit.methods``)."""

from __future__ import annotations

from torch import nn
from unlearnkit.shared.methods import ALL_KINDS, MethodSpec, UnlearnContext
from unlearnkit.shared.metrics import accuracy

from .algorithm import scar, scar_self
from .params import HR_THRESHOLDS, ScarParams
from .presets import apply_preset
from .stopping import cr_target, hr_target
from .surrogate import SurrogateSpec, build_surrogate

__all__ = ["register", "mode_of", "context_surrogate", "scar_method", "scar_self_method", "SCAR_SPEC",
           "SCAR_SELF_SPEC"]


def mode_of(kind: str) -> str:
    """Class requests are SCAR's class removal (CR); every other request is homogeneous removal (HR)."""
    return "CR" if kind == "class" else "HR"


def context_surrogate(ctx: UnlearnContext, params: ScarParams):
    """The context's surrogate when the caller gave one, else the default built for the data set."""
    if ctx.surrogate is not None:
        return ctx.surrogate
    spec = SurrogateSpec(source=params.surrogate, path=params.surrogate_path,
                         quantity=params.surrogate_quantity, seed=params.seed)
    return build_surrogate(spec, ctx.forget.info)


def _stop_target(ctx: UnlearnContext, params: ScarParams, mode: str) -> float:
    if params.target is not None:
        return params.target
    if mode == "CR":
        return cr_target()
    return hr_target(accuracy(ctx.original, ctx.test, ctx.device) / 100.0, params.hr_margin)


def scar_method(model: nn.Module, ctx: UnlearnContext, params: ScarParams) -> nn.Module:
    dataset = ctx.forget.info.name
    params = apply_preset(params, dataset)
    mode = mode_of(ctx.request.kind)
    threshold = params.hr_threshold if params.hr_threshold is not None else HR_THRESHOLDS.get(dataset, 0.8)
    result = scar(
        model, original=ctx.original, forget=ctx.forget, surrogate=context_surrogate(ctx, params), mode=mode,
        forget_classes=list(ctx.request.classes or ()), num_classes=ctx.num_classes,
        target=_stop_target(ctx, params, mode), params=params,
        retain=ctx.retain if params.stats_from == "retain" else None, device=ctx.device,
        progress=bool(ctx.progress), hr_threshold=threshold,
    )
    return result.model


def scar_self_method(model: nn.Module, ctx: UnlearnContext, params: ScarParams) -> nn.Module:
    params = apply_preset(params, ctx.forget.info.name)
    result = scar_self(
        model, original=ctx.original, surrogate=context_surrogate(ctx, params),
        forget_classes=list(ctx.request.classes or ()), num_classes=ctx.num_classes,
        target=_stop_target(ctx, params, "CR"), params=params,
        retain=ctx.retain if params.stats_from == "retain" else None, device=ctx.device,
        progress=bool(ctx.progress),
    )
    return result.model


SCAR_SPEC = MethodSpec(
    name="scar", fn=scar_method, params_cls=ScarParams,
    description="SCAR (ECCV'24): Mahalanobis push of forget samples + distillation on OOD surrogate images",
    needs_retain=False, kinds=ALL_KINDS, package="unlearnkit-scar",
)
SCAR_SELF_SPEC = MethodSpec(
    name="scar_self", fn=scar_self_method, params_cls=ScarParams,
    description="SCAR_self: class removal from surrogate images only (reads neither forget nor retain set)",
    needs_retain=False, kinds=("class",), package="unlearnkit-scar",
)


def register() -> list[MethodSpec]:
    """Entry point ``unlearnkit.methods: scar``."""
    return [SCAR_SPEC, SCAR_SELF_SPEC]

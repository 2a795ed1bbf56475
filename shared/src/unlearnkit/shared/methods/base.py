"""The method interface: every unlearning method, from every package, has the same shape.

A method receives a copy of the original model, an :class:`UnlearnContext` (the forget request's data sets,
a frozen copy of the original, the device, the seed) and its own typed hyper-parameters, and returns the
unlearned model. Methods register by name; installed packages add theirs through the entry point group
``unlearnkit.methods`` so the bench finds them without the core importing any package.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from ..data.base import LabeledDataset
from ..data.requests import ForgetRequest
from ..errors import UnlearnkitError
from ..registry import Registry

ENTRY_POINT_GROUP = "unlearnkit.methods"
ALL_KINDS = ("class", "random", "subclass", "indices")


@dataclass
class UnlearnContext:
    """Everything a method may read. ``original`` is a frozen eval-mode copy: never train it."""

    forget: LabeledDataset
    retain: LabeledDataset | None
    test: LabeledDataset
    request: ForgetRequest
    num_classes: int
    original: nn.Module
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int = 0
    surrogate: Dataset | None = None
    test_forget: LabeledDataset | None = None
    test_retain: LabeledDataset | None = None
    meta: dict = field(default_factory=dict)  # the original checkpoint's meta (e.g. init_classifier)
    progress: bool | None = None

    @classmethod
    def from_splits(cls, splits, request: ForgetRequest, original: nn.Module, **kw) -> UnlearnContext:
        frozen = freeze_copy(original)
        return cls(forget=splits.forget, retain=splits.retain, test=splits.test, request=request,
                   num_classes=splits.forget.info.num_classes or int(splits.test.targets.max()) + 1,
                   original=frozen, test_forget=splits.test_forget, test_retain=splits.test_retain, **kw)


@dataclass
class NoParams:
    """For methods without hyper-parameters."""


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fn: Callable[[nn.Module, UnlearnContext, Any], nn.Module]
    params_cls: type = NoParams
    description: str = ""
    needs_retain: bool = True
    kinds: tuple[str, ...] = ALL_KINDS
    requires_meta: tuple[str, ...] = ()  # keys the original checkpoint's meta must hold
    reference: bool = False  # the retrained gold standard (the bench runs it once, first)
    package: str = "unlearnkit-shared"

    def applicable(self, ctx: UnlearnContext) -> tuple[bool, str]:
        if ctx.request.kind not in self.kinds:
            return False, f"does not handle {ctx.request.kind} requests"
        if self.needs_retain and ctx.retain is None:
            return False, "needs the retain set"
        missing = [k for k in self.requires_meta if k not in ctx.meta]
        if missing:
            return False, f"needs {missing[0]} in the original checkpoint"
        return True, ""

    def make_params(self, overrides: Mapping[str, Any] | None = None):
        return build_params(self.params_cls, overrides or {}, self.name)


METHODS: Registry[MethodSpec] = Registry("method")
_discovered = False


def register_method(spec: MethodSpec, overwrite: bool = False) -> MethodSpec:
    return METHODS.register(spec.name, spec, overwrite=overwrite)


def discover_methods() -> list[str]:
    """Load every installed package's methods (entry point group ``unlearnkit.methods``), once."""
    global _discovered
    if _discovered:
        return METHODS.names()
    _discovered = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            provider = ep.load()
            specs = provider() if callable(provider) else provider
        except Exception as err:  # a broken plugin must not take the whole bench down
            warnings.warn(f"could not load unlearning methods from {ep.name!r}: {err}", stacklevel=2)
            continue
        for spec in specs or ():
            if spec.name not in METHODS:
                register_method(spec)
    return METHODS.names()


def get_method(name: str) -> MethodSpec:
    if name not in METHODS:
        discover_methods()
    return METHODS.get(name)


def list_methods() -> list[MethodSpec]:
    discover_methods()
    return [spec for _, spec in METHODS.items()]


def build_params(params_cls: type, overrides: Mapping[str, Any], method: str = ""):
    """Instantiate a params dataclass from string or typed overrides, typed by its hints, one-line errors."""
    from ..typed import coerce_fields

    if not dataclasses.is_dataclass(params_cls):
        return params_cls(**overrides)
    kwargs = coerce_fields(params_cls, overrides, owner=f"method {method}" if method else params_cls.__name__)
    try:
        return params_cls(**kwargs)
    except (TypeError, ValueError) as err:  # a __post_init__ that rejects a value
        raise UnlearnkitError(f"method {method!r}: {err}") from None


def freeze_copy(model: nn.Module) -> nn.Module:
    """A deep copy in eval mode with gradients off: the teacher / reference that must never move."""
    frozen = copy.deepcopy(model).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    return frozen


def run_method(name: str, model: nn.Module, ctx: UnlearnContext, params=None, **overrides):
    """Run a registered method on a copy of ``model``; returns ``(unlearned, rte)`` (seconds, peak memory)."""
    from ..metrics.rte import RTEMeter
    from ..train.seeding import seed_everything

    spec = get_method(name)
    ok, why = spec.applicable(ctx)
    if not ok:
        raise UnlearnkitError(f"method {name!r} {why}")
    if params is None:
        params = spec.make_params(overrides)
    work = copy.deepcopy(model).to(ctx.device)
    for p in work.parameters():  # a frozen copy (e.g. ctx.original) must become trainable again
        p.requires_grad_(True)
    seed_everything(ctx.seed)
    with RTEMeter(ctx.device) as meter:
        out = spec.fn(work, ctx, params)
    return out, meter.as_dict()

"""Read several layers of a model in one forward pass.

CKA per layer (``--layers all``) and k-NN on a chosen layer both need intermediate representations. Two
pseudo-layers work on every unlearnkit model: ``penultimate`` (``model.features(x)``, the globally pooled
features SPKD distils) and ``logits`` (``model.classifier`` applied to them). Any other name is a module path
from ``model.named_modules()``; its output is flattened to ``[B, -1]`` like the published CKA code does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from unlearnkit.shared.errors import UnlearnkitError

__all__ = ["PSEUDO_LAYERS", "default_layers", "resolve_layers", "LayerTaps"]

PSEUDO_LAYERS = ("penultimate", "logits")
_RESNET_STAGES = ("layer1", "layer2", "layer3", "layer4")


_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _trunk_children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Top-level modules with parameters, descending through single-backbone wrappers (``model.body``, a
    timm/torchvision net) so that "all" means the network's blocks, not one wrapper module. Normalisation
    layers are skipped: their output is an affine copy of the layer before and would count it twice."""
    prefix, mod = "", model
    while True:
        kids = [
            (n, m)
            for n, m in mod.named_children()
            if m is not getattr(model, "classifier", None)
            and not isinstance(m, _NORMS)
            and any(True for _ in m.parameters())
        ]
        if len(kids) == 1 and len(list(kids[0][1].children())) > 1:
            prefix, mod = f"{prefix}{kids[0][0]}.", kids[0][1]
            continue
        return [(prefix + n, m) for n, m in kids]


def default_layers(model: nn.Module) -> list[str]:
    """The layers ``--layers all`` compares: ResNet stages when present (what the paper plots), otherwise
    every parameterised top-level block of the trunk; then the penultimate features and the logits."""
    names = dict(model.named_modules())
    stages = [n for n in names if n.split(".")[-1] in _RESNET_STAGES and n.count(".") <= 1]
    if len(stages) < 2:
        stages = [n for n, _ in _trunk_children(model)]
    return [*stages, *PSEUDO_LAYERS]


def resolve_layers(model: nn.Module, spec: str | Sequence[str]) -> list[str]:
    """``"penultimate"``, ``"logits"``, ``"all"``, a comma-separated list, or a sequence of names."""
    if isinstance(spec, str):
        if spec.strip().lower() == "all":
            return default_layers(model)
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    layers = list(spec)
    if not layers:
        raise UnlearnkitError("no layers given")
    modules = dict(model.named_modules())
    unknown = [n for n in layers if n not in PSEUDO_LAYERS and n not in modules]
    if unknown:
        raise UnlearnkitError(
            f"unknown layer(s) {unknown}; use penultimate, logits, all or one of: {', '.join(default_layers(model))}"
        )
    return layers


class LayerTaps:
    """Callable ``taps(x) -> {layer: [B, d] tensor}`` for a fixed set of layers, using forward hooks.

    Hooks are attached only for the duration of a call, so a model is never left with stray hooks (which
    would leak memory and slow training down) even if the forward raises.
    """

    def __init__(self, model: nn.Module, layers: Sequence[str]):
        self.model = model
        self.layers = list(layers)
        modules = dict(model.named_modules())
        self._modules = {n: modules[n] for n in self.layers if n not in PSEUDO_LAYERS}
        if not callable(getattr(model, "features", None)) or not isinstance(
            getattr(model, "classifier", None), nn.Module
        ):
            raise UnlearnkitError("layer taps need a model with .features(x) and .classifier (any unlearnkit model)")

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        store: dict[str, torch.Tensor] = {}

        def keep(name):
            def hook(_m, _inp, out):
                out = out[0] if isinstance(out, tuple) else out
                store[name] = out

            return hook

        handles = [m.register_forward_hook(keep(n)) for n, m in self._modules.items()]
        try:
            feats = self.model.features(x)
            store["penultimate"] = feats
            if "logits" in self.layers:
                store["logits"] = self.model.classifier(feats)
            missing = [n for n in self._modules if n not in store]
            if missing:  # a module outside features/classifier (e.g. an auxiliary head)
                self.model(x)
        finally:
            for h in handles:
                h.remove()
        missing = [n for n in self.layers if n not in store]
        if missing:
            raise UnlearnkitError(f"layer(s) {missing} did not run in the forward pass")
        return {n: store[n].reshape(store[n].shape[0], -1) for n in self.layers}

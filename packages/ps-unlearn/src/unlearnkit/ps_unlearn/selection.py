"""Which final-layer tensors PS may change (``--trainable``).

The paper fine-tunes "the prototypes of all classes", i.e. the final layer's weight rows; the published code
unfreezes only the last parameter tensor, which is the final bias. Both are offered, plus the whole layer
(our default), so that the difference can be measured instead of argued about.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.registry import Registry

__all__ = ["TRAINABLE", "classifier_of", "select_trainable", "freeze_all_but"]

TRAINABLE: Registry[Callable[[nn.Linear], dict[str, nn.Parameter]]] = Registry("trainable part")


def classifier_of(model: nn.Module) -> nn.Linear:
    """The final linear layer, as every core model exposes it (``model.classifier``)."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, nn.Linear):
        raise UnlearnkitError(
            f"{type(model).__name__} has no final nn.Linear at .classifier; PS edits that layer's prototypes"
        )
    return head


@TRAINABLE.register("weight", aliases=("prototypes",))
def _weight(head: nn.Linear) -> dict[str, nn.Parameter]:
    return {"weight": head.weight}


@TRAINABLE.register("bias")
def _bias(head: nn.Linear) -> dict[str, nn.Parameter]:
    if head.bias is None:
        raise UnlearnkitError("--trainable bias: the final layer has no bias")
    return {"bias": head.bias}


@TRAINABLE.register("layer", aliases=("all",))
def _layer(head: nn.Linear) -> dict[str, nn.Parameter]:
    return dict(head.named_parameters())


def select_trainable(model: nn.Module, mode: str) -> dict[str, nn.Parameter]:
    """Final-layer parameters for ``mode`` (weight, bias or layer), keyed ``classifier.<name>``."""
    picked = TRAINABLE.get(mode)(classifier_of(model))
    return {f"classifier.{k}": p for k, p in picked.items()}


def freeze_all_but(model: nn.Module, params: dict[str, nn.Parameter]) -> None:
    """Turn gradients off everywhere except ``params`` so nothing else can move, even by accident."""
    keep = {id(p) for p in params.values()}
    for p in model.parameters():
        p.requires_grad_(id(p) in keep)

"""When PS may stop early (``--stop-at``).

Forgetting a few samples of a class should leave them classified the way a model that never saw them
would: a retrained model's accuracy on them is about its accuracy on unseen samples of the same class, and
for whole-class forgetting it is zero. Fine-tuning past that point only damages the prototypes (on digits
the full published schedule with a correct loss takes test accuracy from 99% to 66%). ``auto`` stops
there, estimated from the original model's test accuracy on those classes; ``none`` runs every epoch as
the paper does.
"""

from __future__ import annotations

import numpy as np
from torch import nn
from unlearnkit.shared.data import LabeledDataset
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.metrics import accuracy

__all__ = ["parse_stop_at", "stop_target"]


def parse_stop_at(stop_at: str | float | None) -> str | float | None:
    """``"auto"``, ``None`` (for ``none``) or a percentage; anything else is a user error."""
    if stop_at is None:
        return None
    text = str(stop_at).strip().lower()
    if text in ("auto", "none"):
        return None if text == "none" else "auto"
    try:
        value = float(text)
    except ValueError:
        raise UnlearnkitError(f"--stop-at must be auto, none or a percentage, got {stop_at!r}") from None
    if not 0 <= value <= 100:
        raise UnlearnkitError(f"--stop-at must lie in [0, 100], got {value}")
    return value


def stop_target(
    stop_at: str | float | None,
    original: nn.Module,
    forget: LabeledDataset,
    test: LabeledDataset,
    *,
    class_wise: bool = False,
    device="cpu",
) -> float | None:
    """The forget accuracy (percent) at which PS stops, or None to run every epoch."""
    target = parse_stop_at(stop_at)
    if target != "auto":
        return target
    if class_wise:
        return 0.0
    classes = np.unique(forget.targets)
    held_out = test.subset(np.flatnonzero(np.isin(test.targets, classes)))
    return accuracy(original, held_out, device=device) if len(held_out) else None

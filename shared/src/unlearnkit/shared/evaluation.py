"""One evaluation for every unlearned model: the shared core's UA / RA / TA / MIA, measured the same way."""

from __future__ import annotations

import torch
from torch import nn

from .data import Splits
from .metrics import mia_efficacy, unlearning_accuracies

METRIC_KEYS = ("UA", "RA", "TA", "MIA")


def evaluate_unlearning(model: nn.Module, splits: Splits, device: torch.device | str = "cpu", *,
                        mia: bool = True, mia_feature: str = "confidence", seed: int = 0) -> dict[str, float]:
    """UA, RA, TA (plus TA_forget / TA_retain for class requests) and SalUn's MIA-efficacy, in percent."""
    out = dict(unlearning_accuracies(model, splits, device=device))
    if mia:
        out["MIA"] = float(mia_efficacy(model, splits.retain, splits.forget, splits.test, device=device,
                                        feature=mia_feature, seed=seed))
    return {k: float(v) for k, v in out.items()}

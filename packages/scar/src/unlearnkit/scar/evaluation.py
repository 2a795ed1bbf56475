"""The paper's evaluation: the scenario's accuracies, SCAR's MIA and the AUS, as one flat dict.

Accuracies are reported in percent (as the paper's tables); AUS takes them as fractions internally.
"""

from __future__ import annotations

from torch import nn
from unlearnkit.shared.data import Splits
from unlearnkit.shared.metrics import accuracy, aus_cr, aus_hr, scar_mia

__all__ = ["scar_report", "reference_accuracy"]


def reference_accuracy(model: nn.Module, splits: Splits, mode: str, device) -> float:
    """A_or of the AUS (percent): the original's retain-test accuracy in CR, test accuracy in HR."""
    data = splits.test_retain if mode == "CR" else splits.test
    return accuracy(model, data, device)


def scar_report(model: nn.Module, splits: Splits, mode: str, *, a_or: float, device="cpu", mia: bool = True,
                mia_repeats: int = 5, seed: int = 0) -> dict[str, float]:
    """CR: forget/retain x train/test accuracies; HR: test, forget, retain. Plus MIA and AUS."""
    out: dict[str, float] = {}
    if mode == "CR":
        out["acc_forget_train"] = accuracy(model, splits.forget, device)
        out["acc_retain_train"] = accuracy(model, splits.retain, device)
        out["acc_forget_test"] = accuracy(model, splits.test_forget, device)
        out["acc_retain_test"] = accuracy(model, splits.test_retain, device)
        out["AUS"] = aus_cr(a_or / 100, out["acc_retain_test"] / 100, out["acc_forget_test"] / 100)
        if mia:
            out["MIA"] = 100 * scar_mia(model, splits.forget, splits.test_forget, device=device, mode="CR",
                                        repeats=mia_repeats, seed=seed)["acc"]
    else:
        out["acc_test"] = accuracy(model, splits.test, device)
        out["acc_forget"] = accuracy(model, splits.forget, device)
        out["acc_retain"] = accuracy(model, splits.retain, device)
        out["AUS"] = aus_hr(a_or / 100, out["acc_test"] / 100, out["acc_forget"] / 100)
        if mia:
            res = scar_mia(model, splits.forget, splits.test, device=device, mode="HR", repeats=mia_repeats,
                           seed=seed)
            out["MIA"] = 100 * res["acc"]
            out["MIA_HR_score"] = res["hr_score"]
    return out

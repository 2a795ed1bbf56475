"""SCAR's Adaptive Unlearning Score: one number trading utility loss against residual forget accuracy.

All accuracies are fractions in [0, 1]; percentages are rejected because they would silently give
scores near 0.
"""

from __future__ import annotations

__all__ = ["aus_cr", "aus_hr"]


def _check(**accs: float) -> None:
    for name, v in accs.items():
        if not -1e-9 <= float(v) <= 1 + 1e-9:
            raise ValueError(f"AUS expects accuracies as fractions in [0, 1]; {name}={v}")


def aus_cr(a_or: float, a_t: float, a_f: float) -> float:
    """Class removal: (1 - (A_or - A_t)) / (1 + |A_f|); A_or original and A_t unlearned retain-test
    accuracy, A_f the unlearned model's accuracy on the forgotten classes' test part (ideal 0)."""
    _check(a_or=a_or, a_t=a_t, a_f=a_f)
    return (1.0 - (a_or - a_t)) / (1.0 + abs(a_f))


def aus_hr(a_or: float, a_t: float, a_f: float) -> float:
    """Random removal: (1 - (A_or - A_t)) / (1 + |A_f - A_t|); A_t test accuracy, A_f forget-train
    accuracy (ideal: forget samples scored like unseen test samples)."""
    _check(a_or=a_or, a_t=a_t, a_f=a_f)
    return (1.0 - (a_or - a_t)) / (1.0 + abs(a_f - a_t))

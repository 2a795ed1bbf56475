"""Avg. Gap: distance of a method's metrics to the retrained model's (the gold standard)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["avg_gap"]


def avg_gap(
    metrics: Mapping[str, float],
    reference: Mapping[str, float],
    keys: Sequence[str] = ("UA", "RA", "TA", "MIA"),
) -> float:
    """Mean |metrics[k] - reference[k]| over the keys present (and not NaN/None) in both.

    Keys missing on either side are skipped rather than counted as 0, so a table without MIA still gets a
    gap over UA/RA/TA; no common key at all gives NaN.
    """
    diffs = []
    for k in keys:
        a, b = metrics.get(k), reference.get(k)
        if a is None or b is None or math.isnan(float(a)) or math.isnan(float(b)):
            continue
        diffs.append(abs(float(a) - float(b)))
    return sum(diffs) / len(diffs) if diffs else math.nan

"""When to stop unlearning: as soon as forget accuracy falls below a target, but not too early.

The published code only accepts the stop once two epochs have run (``epoch > 1``): the first steps move the
forget embeddings fast and the distillation needs a few passes to repair the other classes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StopRule", "cr_target", "hr_target"]


@dataclass
class StopRule:
    """``target`` and accuracies are fractions; ``min_epochs`` full epochs must finish before stopping."""

    target: float
    min_epochs: int = 2

    def should_stop(self, forget_acc: float, epoch: int) -> bool:
        """``epoch`` is 0-based: the published ``epoch > 1`` is ``min_epochs = 2``."""
        return epoch >= self.min_epochs and forget_acc < self.target


def cr_target(threshold: float = 0.01) -> float:
    """Class removal: the forgotten class should be (almost) never predicted."""
    return threshold


def hr_target(original_test_acc: float, margin: float = 0.015) -> float:
    """Random removal: forget samples should look like unseen ones, i.e. reach test accuracy."""
    return original_test_acc - margin

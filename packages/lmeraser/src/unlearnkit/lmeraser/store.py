"""Samples by id.

Everything in LMEraser is keyed by a sample's id (its index in the full training split), never by its
position in some subset: positions shift when a sample is erased, ids do not. Per-cluster training,
routing and erase all fetch their data through this one lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["SampleStore"]


class SampleStore:
    """``(images, labels)`` for a list of ids, over any ``(image, label)`` data set indexed by id."""

    def __init__(self, dataset: Dataset, targets: Sequence[int] | np.ndarray | None = None):
        self.dataset = dataset
        if targets is None:
            targets = getattr(dataset, "targets", None)
        self.targets = None if targets is None else torch.as_tensor(np.asarray(targets), dtype=torch.long)

    def __len__(self) -> int:
        return len(self.dataset)

    def labels(self, ids: Sequence[int] | np.ndarray | torch.Tensor) -> torch.Tensor:
        idx = torch.as_tensor(np.asarray(ids, dtype=np.int64))
        if self.targets is not None:
            return self.targets[idx]
        return torch.tensor([int(self.dataset[int(i)][1]) for i in idx.tolist()], dtype=torch.long)

    def batch(self, ids: Sequence[int] | np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        items = [self.dataset[int(i)] for i in np.asarray(ids, dtype=np.int64).tolist()]
        x = torch.stack([torch.as_tensor(it[0]) for it in items])
        y = torch.tensor([int(it[1]) for it in items], dtype=torch.long)
        return x, y

"""DataLoaders with reproducible order.

The shuffling order of epoch ``e`` depends only on ``(seed, e)``: a resumed run sees the same batches as an
uninterrupted one, and a single process sees the union of what ``DistributedSampler`` gives N ranks.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class EpochShuffleSampler(Sampler[int]):
    """A permutation drawn from ``seed + epoch`` exactly as ``DistributedSampler`` draws it."""

    def __init__(self, dataset: Dataset, seed: int = 0):
        self.n = len(dataset)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def permutation(self) -> torch.Tensor:
        """This epoch's order as a tensor (the device data path takes it whole)."""
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        return torch.randperm(self.n, generator=g)

    def __iter__(self):
        return iter(self.permutation().tolist())

    def __len__(self) -> int:
        return self.n


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0, drop_last: bool = False,
                num_workers: int = 0, sampler: Sampler | None = None, pin_memory: bool = False) -> DataLoader:
    if sampler is None and shuffle:
        sampler = EpochShuffleSampler(dataset, seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, shuffle=False, drop_last=drop_last,
                      num_workers=num_workers, pin_memory=pin_memory, persistent_workers=num_workers > 0)

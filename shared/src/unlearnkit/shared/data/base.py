"""Labelled data sets whose labels are known without loading an image.

Forget requests, class splits and MIA sampling all need the labels of a whole data set; reading them off
``.targets`` is instant, while iterating the images is not. Every data set in unlearnkit is therefore a
:class:`LabeledDataset`: a view (optionally a subset, optionally relabelled) over a base data set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass(frozen=True)
class DatasetInfo:
    """What models and transforms need to know about a data set."""

    name: str
    num_classes: int
    in_chans: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...] = field(default_factory=tuple)
    hflip: bool = False  # whether horizontal flips are a valid augmentation

    def with_size(self, image_size: int | None = None, in_chans: int | None = None) -> DatasetInfo:
        chans = in_chans or self.in_chans
        mean, std = self.mean, self.std
        if chans != self.in_chans:
            mean, std = (mean[0],) * chans, (std[0],) * chans
        return replace(self, image_size=image_size or self.image_size, in_chans=chans, mean=mean, std=std)


class LabeledDataset(Dataset):
    """(image, label) pairs over a base data set, with labels as an int64 array.

    ``source_indices`` maps each position back to the index in the full data set: forget requests are stated
    in those indices, so a subset of a subset still knows which original samples it holds.
    """

    def __init__(self, base: Dataset, targets: Sequence[int] | np.ndarray, info: DatasetInfo,
                 indices: Sequence[int] | np.ndarray | None = None, labels: np.ndarray | None = None):
        self.base = base
        self.info = info
        all_targets = np.asarray(targets, dtype=np.int64)
        self._all_targets = all_targets
        if indices is None:
            self.source_indices = np.arange(len(all_targets), dtype=np.int64)
        else:
            self.source_indices = np.asarray(indices, dtype=np.int64)
        self.targets = all_targets[self.source_indices] if labels is None else np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.source_indices)

    def __getitem__(self, i: int):
        x, _ = self.base[int(self.source_indices[i])]
        return x, int(self.targets[i])

    def subset(self, positions: Sequence[int] | np.ndarray) -> LabeledDataset:
        """The samples at ``positions`` of this view (positions, not source indices)."""
        pos = np.asarray(positions, dtype=np.int64)
        return LabeledDataset(self.base, self._all_targets, self.info, self.source_indices[pos],
                              labels=self.targets[pos])

    def relabel(self, labels: Sequence[int] | np.ndarray) -> LabeledDataset:
        """Same images, other labels (random-label and relabelling methods)."""
        labels = np.asarray(labels, dtype=np.int64)
        if len(labels) != len(self):
            raise ValueError("one label per sample is required")
        return LabeledDataset(self.base, self._all_targets, self.info, self.source_indices, labels=labels)

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    def class_positions(self, classes: Sequence[int]) -> np.ndarray:
        return np.flatnonzero(np.isin(self.targets, np.asarray(list(classes))))


class TensorImages(Dataset):
    """Images held in one tensor (small data sets such as digits): indexing is a tensor slice."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor | np.ndarray,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self.images = images
        self.targets = np.asarray(targets, dtype=np.int64)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        x = self.images[i]
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.targets[i])

    def device_tensors(self, indices: np.ndarray):
        """The images at ``indices`` at their served geometry, un-augmented, as one tensor, and the
        augmentation ``__getitem__`` would draw per sample (the GPU data path applies it per batch)."""
        from .device_loader import BatchAugment

        x = self.images[torch.as_tensor(np.asarray(indices), dtype=torch.int64)]
        t = self.transform
        if t is None:
            return x, BatchAugment()
        geometry = getattr(t, "geometry", None)
        if geometry is None:
            raise TypeError(f"transform {type(t).__name__} has no batched form")
        return geometry(x), BatchAugment(t.pad if t.augment else 0, bool(getattr(t, "hflip", False)) and t.augment)

"""SYNTHETIC data sets at real shapes, for timing code (never for accuracy claims).

Every figure on real data sets needs a download; timing a method at CIFAR or ImageNet shapes does not. These
data sets draw each image from a seed when it is read: a class prototype (a random low-resolution pattern,
upsampled, so it is smooth like natural images' low frequencies) plus a per-sample low-resolution jitter and
per-pixel noise. Nothing is stored or written: sample ``i`` of a split is a pure function of (seed, split, i),
so any subset costs only its own samples and two runs read identical pixels. The class signal is strong enough
that a small CNN learns it in an epoch or two, so forget and retain accuracies move under unlearning, but the
numbers mean nothing about real data: the names all start with ``synthetic-``.

Names:
  ``synthetic-cifar10``        50,000 train + 10,000 test images of 3x32x32 in 10 classes (CIFAR-10's shape).
  ``synthetic-imagenet``       10 classes x 100 train (x 20 test) images of 3x224x224.
  ``synthetic-imagenet-C``     C classes x 100 train (x 20 test) images per class.
  ``synthetic-imagenet-CxN``   C classes x N train (x max(1, N // 5) test) images per class.
``load_dataset(..., image_size=, in_chans=)`` changes the resolution or channels (drawn at that size directly).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .base import DatasetInfo
from .catalog import DATASETS, DatasetEntry, register_dataset
from .transforms import random_shift

SYNTHETIC_SEED = 0
PROTOTYPE_RES = 6  # side of the low-resolution class patterns (their "frequency content")
JITTER = 0.6  # per-sample deviation from the prototype, at the prototype's resolution
NOISE = 2.0  # per-pixel noise, relative to the upsampled prototype's scale
_SPLIT_ID = {"train": 0, "test": 1}


@dataclass(frozen=True)
class SyntheticSpec:
    """The sizes of one synthetic data set; the seed fixes every pixel."""

    num_classes: int
    train_size: int
    test_size: int
    seed: int = SYNTHETIC_SEED

    def size(self, split: str) -> int:
        return self.train_size if split == "train" else self.test_size


def synthetic_targets(spec: SyntheticSpec, split: str) -> np.ndarray:
    """Balanced labels in a seeded order (O(N) ints: the only per-sample state that exists)."""
    n = spec.size(split)
    rng = np.random.RandomState((spec.seed * 7919 + _SPLIT_ID[split]) % 2**32)
    return rng.permutation(np.arange(n, dtype=np.int64) % spec.num_classes)


def class_prototypes(spec: SyntheticSpec, in_chans: int) -> torch.Tensor:
    """C x chans x r x r random patterns, zero mean and unit variance per class."""
    g = torch.Generator().manual_seed(spec.seed)
    protos = torch.randn(spec.num_classes, in_chans, PROTOTYPE_RES, PROTOTYPE_RES, generator=g)
    protos = protos - protos.mean(dim=(1, 2, 3), keepdim=True)
    return protos / protos.std(dim=(1, 2, 3), keepdim=True)


class SyntheticImages(Dataset):
    """Images drawn per index from (seed, split, index); see the module docstring."""

    def __init__(self, spec: SyntheticSpec, split: str, image_size: int, in_chans: int, augment: bool = False):
        if split not in _SPLIT_ID:
            raise ValueError(f"unknown split {split!r}")
        self.spec, self.split = spec, split
        self.image_size, self.in_chans, self.augment = image_size, in_chans, augment
        self.targets = synthetic_targets(spec, split)
        self._protos = class_prototypes(spec, in_chans)
        # The upsampled, jittered prototype has variance < 1 + JITTER^2 (bilinear smoothing); scale the sum to
        # roughly unit variance so the data need no normalisation (mean 0, std 1 in the info).
        self._scale = 1.0 / float(np.sqrt(0.6 * (1 + JITTER**2) + NOISE**2))

    def __len__(self) -> int:
        return len(self.targets)

    def sample_seed(self, i: int) -> int:
        return (self.spec.seed << 33) | (_SPLIT_ID[self.split] << 32) | int(i)

    def draw(self, i: int) -> torch.Tensor:
        """Sample ``i`` before augmentation."""
        y = int(self.targets[i])
        g = torch.Generator().manual_seed(self.sample_seed(i))
        low = self._protos[y] + JITTER * torch.randn(self._protos.shape[1:], generator=g)
        s = self.image_size
        x = F.interpolate(low[None], size=(s, s), mode="bilinear", align_corners=False)[0]
        return (x + NOISE * torch.randn(x.shape, generator=g)) * self._scale

    def device_tensors(self, indices: np.ndarray):
        """The GPU data path's hand-over: the samples at ``indices`` drawn once, un-augmented, and the
        crop and flip that ``__getitem__`` applies (see ``data.device_loader``)."""
        from .device_loader import BatchAugment

        s = self.image_size
        images = torch.empty(len(indices), self.in_chans, s, s)
        for k, i in enumerate(np.asarray(indices).tolist()):
            images[k] = self.draw(i)
        return images, BatchAugment(max(2, s // 8), True) if self.augment else BatchAugment()

    def __getitem__(self, i: int):
        i = int(i)
        if not 0 <= i < len(self):
            raise IndexError(i)
        x = self.draw(i)
        s = self.image_size
        if self.augment:
            x = random_shift(x, max(2, s // 8))
            if torch.rand(()) < 0.5:
                x = x.flip(-1)
        return x, int(self.targets[i])


def synthetic_info(name: str, num_classes: int, image_size: int) -> DatasetInfo:
    return DatasetInfo(name, num_classes, 3, image_size, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0),
                       tuple(f"synthetic-{c}" for c in range(num_classes)), hflip=True)


def _builder(spec: SyntheticSpec):
    def build(split, root, download, info, augment):
        ds = SyntheticImages(spec, split, info.image_size, info.in_chans, augment)
        return ds, ds.targets

    return build


def register_synthetic(name: str, spec: SyntheticSpec, image_size: int, description: str) -> None:
    register_dataset(synthetic_info(name, spec.num_classes, image_size), needs_root=False,
                     description=description)(_builder(spec))


register_synthetic("synthetic-cifar10", SyntheticSpec(10, 50_000, 10_000), 32,
                   "SYNTHETIC, for timing only: 50k+10k seeded images of 3x32x32, 10 classes (CIFAR-10 shape)")
register_synthetic("synthetic-imagenet", SyntheticSpec(10, 1_000, 200), 224,
                   "SYNTHETIC, for timing only: 3x224x224, 10 classes x 100 (+20 test); "
                   "synthetic-imagenet-CxN for C classes x N")

_FAMILY = re.compile(r"synthetic-imagenet-(\d+)(?:x(\d+))?")


@DATASETS.register_family
def _synthetic_imagenet_family(name: str) -> DatasetEntry | None:
    match = _FAMILY.fullmatch(name)
    if not match:
        return None
    classes, per_class = int(match[1]), int(match[2] or 100)
    if classes < 2 or per_class < 1:
        return None
    spec = SyntheticSpec(classes, classes * per_class, classes * max(1, per_class // 5))
    info = synthetic_info(name, classes, 224)
    return DatasetEntry(info, _builder(spec), needs_root=False,
                        description=f"SYNTHETIC, for timing only: {classes} classes x {per_class} of 3x224x224")

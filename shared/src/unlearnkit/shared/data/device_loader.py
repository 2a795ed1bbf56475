"""Batches drawn from a data set held in device memory: the fast path for small data sets on a GPU.

A DataLoader pays per-sample Python (``__getitem__``, collate, host-to-device copy) on every batch; for
CIFAR-sized data on a GPU that, not the model, bounds the throughput. Fast CIFAR trainers instead copy the
whole data set to the GPU once and make each batch an index-select plus a batched random crop and flip. This
module does that for any :class:`LabeledDataset` whose base data set can hand over its images as one tensor
(``device_tensors``, see :class:`TensorSource`), when they fit a share of the free device memory.

Guarantees kept from the DataLoader path:
- the batch indices come from the same sampler (``EpochShuffleSampler`` or ``DistributedSampler``), so a
  batch holds exactly the samples the DataLoader would have given for the same ``(seed, epoch)``;
- augmentation draws from a generator seeded by ``(seed, epoch)`` alone (not the global RNG), so a resumed
  run repeats the crops and flips of an uninterrupted one.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

DEVICE_DATA_ENV = "UNLEARNKIT_DEVICE_DATA"  # "0" turns the device path off, "1" forces it where possible
MEMORY_SHARE = 0.4  # the images may take at most this share of the device's free memory


@dataclass(frozen=True)
class BatchAugment:
    """Random crop with ``pad`` pixels of padding (filled with each image's minimum, as ``random_shift``
    does) and, when ``hflip``, a random horizontal flip: what the per-sample tensor transforms do."""

    pad: int = 0
    hflip: bool = False

    @property
    def active(self) -> bool:
        return self.pad > 0 or self.hflip


@runtime_checkable
class TensorSource(Protocol):
    """A base data set that can give the un-augmented images at ``indices`` as one ``[N, C, H, W]`` float
    tensor (at the geometry its samples have) and the augmentation its ``__getitem__`` would apply."""

    def device_tensors(self, indices: np.ndarray) -> tuple[torch.Tensor, BatchAugment]: ...


def crop_flip(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, flip: torch.Tensor, pad: int) -> torch.Tensor:
    """Batched random crop (offsets ``dy``, ``dx`` in ``[0, 2 pad]``) and flip, as two gathers.

    Output pixel ``(r, c)`` of sample ``b`` reads input ``(r + dy_b - pad, c' + dx_b - pad)`` where ``c'`` is
    ``c`` or its mirror; positions outside the image take the image's minimum (the padding value).
    """
    b, ch, h, w = x.shape
    rows = dy[:, None] - pad + torch.arange(h, device=x.device)  # [B, H]
    cols = dx[:, None] - pad + torch.arange(w, device=x.device)  # [B, W]
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    out = x.gather(2, rows.clamp(0, h - 1)[:, None, :, None].expand(b, ch, h, w))
    out = out.gather(3, cols.clamp(0, w - 1)[:, None, None, :].expand(b, ch, h, w))
    if pad > 0:
        inside = (((rows >= 0) & (rows < h))[:, None, :, None]) & (((cols >= 0) & (cols < w))[:, None, None, :])
        out = torch.where(inside, out, x.amin(dim=(1, 2, 3), keepdim=True))
    return out


def sampler_indices(sampler: Sampler) -> torch.Tensor:
    """The sampler's order for its current epoch as an int64 tensor (one call per epoch)."""
    perm = getattr(sampler, "permutation", None)
    if callable(perm):
        return perm()
    return torch.as_tensor(list(iter(sampler)), dtype=torch.int64)


class DeviceLoader:
    """Iterates ``(images, targets)`` batches of device-resident tensors in the sampler's order.

    The caller calls ``sampler.set_epoch(e)`` as for a DataLoader; the epoch (and the sampler's seed) also
    seed the augmentation. ``channels_last`` returns batches in that memory format (conv nets on CUDA).
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, batch_size: int, sampler: Sampler, *,
                 augment: BatchAugment | None = None, seed: int | None = None, drop_last: bool = False,
                 channels_last: bool = False):
        if len(images) != len(targets):
            raise ValueError("one target per image is required")
        self.images = images
        self.targets = targets
        self.batch_size = batch_size
        self.sampler = sampler
        self.augment = augment if augment is not None and augment.active else None
        self.seed = seed if seed is not None else int(getattr(sampler, "seed", 0))
        self.drop_last = drop_last
        self.channels_last = channels_last

    @property
    def device(self) -> torch.device:
        return self.images.device

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _generator(self) -> torch.Generator:
        g = torch.Generator(device=self.device)
        g.manual_seed((self.seed * 1_000_003 + int(getattr(self.sampler, "epoch", 0)) + 1) % 2**63)
        return g

    def batch_indices(self) -> list[torch.Tensor]:
        """This epoch's batches as index tensors (what ``__iter__`` selects)."""
        idx = sampler_indices(self.sampler).to(self.device)
        return list(idx[i:i + self.batch_size] for i in range(0, len(self) * self.batch_size, self.batch_size))

    def __iter__(self):
        idx = sampler_indices(self.sampler).to(self.device, non_blocking=True)
        n = len(idx)
        if self.augment is not None:  # every draw of the epoch at once: no RNG call per batch
            g = self._generator()
            pad = self.augment.pad
            dy = torch.randint(0, 2 * pad + 1, (n,), device=self.device, generator=g)
            dx = torch.randint(0, 2 * pad + 1, (n,), device=self.device, generator=g)
            flip = torch.rand(n, device=self.device, generator=g) < 0.5
            if not self.augment.hflip:
                flip = torch.zeros_like(flip)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            b = idx[start:start + self.batch_size]
            x = self.images.index_select(0, b)
            if self.augment is not None:
                s = slice(start, start + len(b))
                x = crop_flip(x, dy[s], dx[s], flip[s], self.augment.pad)
            if self.channels_last and x.ndim == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, self.targets.index_select(0, b)


def device_tensors(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor, BatchAugment] | None:
    """``(images, targets, augment)`` of a LabeledDataset over a :class:`TensorSource`, on the CPU; else None."""
    base = getattr(dataset, "base", None)
    indices = getattr(dataset, "source_indices", None)
    if base is None or indices is None or not isinstance(base, TensorSource):
        return None
    images, augment = base.device_tensors(np.asarray(indices))
    return images.float(), torch.as_tensor(np.asarray(dataset.targets), dtype=torch.int64), augment


def estimated_bytes(dataset: Dataset) -> int | None:
    """Bytes the images would take on the device (float32), from the data set's info; None if unknown."""
    info = getattr(dataset, "info", None)
    if info is None:
        return None
    return len(dataset) * info.in_chans * info.image_size * info.image_size * 4


def fits_device(dataset: Dataset, device: torch.device, share: float = MEMORY_SHARE) -> bool:
    """The memory budget rule: the images fit in ``share`` of the device's free memory."""
    need = estimated_bytes(dataset)
    if need is None:
        return False
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return need <= share * free


def device_loader_for(dataset: Dataset, batch_size: int, sampler: Sampler, device: str | torch.device, *,
                      channels_last: bool = False, force: bool = False) -> DeviceLoader | None:
    """A :class:`DeviceLoader` when the data set can live on ``device``, else None (use a DataLoader).

    Used automatically on CUDA; ``force`` (or ``UNLEARNKIT_DEVICE_DATA=1``) also allows other devices, and
    ``UNLEARNKIT_DEVICE_DATA=0`` turns the path off.
    """
    device = torch.device(device)
    mode = os.environ.get(DEVICE_DATA_ENV, "auto").strip().lower()
    if mode in ("0", "false", "off", "no"):
        return None
    if device.type != "cuda" and not (force or mode in ("1", "true", "on", "yes")):
        return None
    if not isinstance(getattr(dataset, "base", None), TensorSource) or not fits_device(dataset, device):
        return None
    got = device_tensors(dataset)
    if got is None:
        return None
    images, targets, augment = got
    return DeviceLoader(images.to(device), targets.to(device), batch_size, sampler, augment=augment,
                        channels_last=channels_last)

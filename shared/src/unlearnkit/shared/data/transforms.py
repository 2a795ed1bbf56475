"""Per-data-set train and test transforms, in one place.

Normalisation statistics live in :class:`DatasetInfo`; the transforms here only decide geometry
(resize, crop, flip) so that every package sees the same pixels for the same data set name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import DatasetInfo


def pil_transform(info: DatasetInfo, augment: bool):
    """Transform for PIL images (torchvision and image-folder data sets).

    torchvision is imported here, not at module level: it costs seconds, and the digits path never needs it.
    """
    from torchvision import transforms as T

    size = info.image_size
    steps: list = []
    if info.in_chans == 1:
        steps.append(T.Grayscale(1))
    else:
        steps.append(T.Lambda(_to_rgb))
    if augment:
        if size >= 128:
            steps += [T.RandomResizedCrop(size)]
        else:
            steps += [T.Resize((size, size)), T.RandomCrop(size, padding=max(2, size // 8))]
        if info.hflip:
            steps.append(T.RandomHorizontalFlip())
    else:
        if size >= 128:
            steps += [T.Resize(int(size * 256 / 224)), T.CenterCrop(size)]
        else:
            steps += [T.Resize((size, size))]
    steps += [T.ToTensor(), T.Normalize(info.mean, info.std)]
    return T.Compose(steps)


def _to_rgb(img):
    return img.convert("RGB") if getattr(img, "mode", "RGB") != "RGB" else img


class TensorTransform:
    """Geometry for data already held as normalised tensors (digits): resize, channel repeat, shift."""

    def __init__(self, image_size: int | None, in_chans: int | None, augment: bool, pad: int = 2):
        self.image_size = image_size
        self.in_chans = in_chans
        self.augment = augment
        self.pad = pad

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = self.geometry(x[None])[0]
        if self.augment:
            x = random_shift(x, self.pad)
        return x

    def geometry(self, x: torch.Tensor) -> torch.Tensor:
        """Resize and channel repeat of an ``[N, C, H, W]`` batch (no augmentation)."""
        if self.image_size is not None and x.shape[-1] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        if self.in_chans is not None and x.shape[1] != self.in_chans:
            x = x.expand(x.shape[0], self.in_chans, *x.shape[2:]).contiguous()
        return x


def random_shift(x: torch.Tensor, pad: int) -> torch.Tensor:
    """RandomCrop with zero padding for a CHW tensor, drawn from torch's global RNG (so seeding covers it)."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (pad, pad, pad, pad), value=float(x.min()))
    dy, dx = torch.randint(0, 2 * pad + 1, (2,)).tolist()
    return padded[..., dy:dy + h, dx:dx + w]

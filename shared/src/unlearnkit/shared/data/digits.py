"""scikit-learn's bundled handwritten digits: the offline default data set.

1,797 real 8x8 images ship inside scikit-learn, so every command has a default that runs without a
download. They are served as 1x32x32 tensors (bilinear upsampling) so LeNet/ResNet-style models accept them,
with a fixed, seeded 1437/360 train/test split.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from .base import DatasetInfo

DIGITS_SIZE = 32
DIGITS_SPLIT_SEED = 0
DIGITS_TRAIN = 1437
# Mean and std of the training split after scaling to [0, 1] and resizing (computed once, fixed here so the
# normalisation never depends on which samples are loaded).
DIGITS_MEAN = 0.3054
DIGITS_STD = 0.3234

DIGITS_INFO = DatasetInfo(
    name="digits", num_classes=10, in_chans=1, image_size=DIGITS_SIZE, mean=(DIGITS_MEAN,), std=(DIGITS_STD,),
    class_names=("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
)


@lru_cache(maxsize=1)
def _digits_tensors() -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0
    images = F.interpolate(images, size=(DIGITS_SIZE, DIGITS_SIZE), mode="bilinear", align_corners=False)
    images = ((images - DIGITS_MEAN) / DIGITS_STD).contiguous()
    order = np.random.RandomState(DIGITS_SPLIT_SEED).permutation(len(images))
    return images, np.asarray(bunch.target, dtype=np.int64), order


def digits_split(split: str) -> tuple[torch.Tensor, np.ndarray]:
    """Normalised images and labels of the fixed train or test split."""
    images, targets, order = _digits_tensors()
    idx = order[:DIGITS_TRAIN] if split == "train" else order[DIGITS_TRAIN:]
    idx = torch.as_tensor(np.sort(idx))
    return images[idx], targets[idx.numpy()]

"""scikit-learn's bundled handwritten digits: the offline default data set.

1,797 real 8x8 images ship inside scikit-learn, so every command has a default that runs without a
download. They are served as 1x32x32 tensors (bilinear upsampling) so LeNet/ResNet-style models accept them,
with a fixed, seeded 1437/360 train/test split.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

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


def _read_bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images 1797x8x8, labels) from the CSV inside scikit-learn.

    Read directly because importing ``sklearn.datasets`` costs seconds of start-up for every command; the
    official loader is the fallback if the file ever moves.
    """
    spec = importlib.util.find_spec("sklearn")
    csv = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if csv is not None and csv.is_file():
        data = np.loadtxt(csv, delimiter=",", dtype=np.float32)
        return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)


@lru_cache(maxsize=1)
def _digits_tensors() -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    raw, labels = _read_bundled_digits()
    images = torch.from_numpy(raw)[:, None] / 16.0
    images = F.interpolate(images, size=(DIGITS_SIZE, DIGITS_SIZE), mode="bilinear", align_corners=False)
    images = ((images - DIGITS_MEAN) / DIGITS_STD).contiguous()
    order = np.random.RandomState(DIGITS_SPLIT_SEED).permutation(len(images))
    return images, labels, order


def digits_split(split: str) -> tuple[torch.Tensor, np.ndarray]:
    """Normalised images and labels of the fixed train or test split."""
    images, targets, order = _digits_tensors()
    idx = order[:DIGITS_TRAIN] if split == "train" else order[DIGITS_TRAIN:]
    idx = torch.as_tensor(np.sort(idx))
    return images[idx], targets[idx.numpy()]

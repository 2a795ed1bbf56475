"""The embedded offline default: scikit-learn's 8x8 digits as image-caption pairs for a tiny CLIP.

Each digit image gets a caption from a few templates naming the digit ("a photo of the number seven.");
forgetting "seven" is then the digits analogue of forgetting a celebrity's name.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .shards import Sample, encode_image

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES = ("a photo of the number {}.", "a drawing of the digit {}.", "the handwritten number {}.",
             "an image of a {}.")
IMAGE_SIZE = 32


@dataclass
class DigitImages:
    images: list  # PIL RGB 32x32
    labels: np.ndarray


@lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's bundled digits (8x8, 0..16). Read straight from the bundled csv.gz: importing
    sklearn.datasets pulls in scipy and costs tens of seconds on a busy machine."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is not None and path.is_file():
        data = np.loadtxt(path, delimiter=",")
        return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits  # pragma: no cover - layout changed upstream

    d = load_digits()
    return d.images, d.target.astype(np.int64)


def load_digits_split(split: str = "train", seed: int = 0) -> DigitImages:
    """The core's fixed digits split (same seeded permutation, so 'train'/'test' mean the same images
    everywhere in unlearnkit), as 32x32 RGB PIL images for CLIP's own preprocessing."""
    from PIL import Image
    from unlearnkit.shared.data.digits import DIGITS_SPLIT_SEED, DIGITS_TRAIN

    images, targets = _raw_digits()
    order = np.random.RandomState(DIGITS_SPLIT_SEED + seed).permutation(len(images))
    idx = np.sort(order[:DIGITS_TRAIN] if split == "train" else order[DIGITS_TRAIN:])
    imgs = []
    for i in idx:
        arr = (images[i] / 16.0 * 255.0).clip(0, 255).astype(np.uint8)
        imgs.append(Image.fromarray(arr, mode="L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR).convert("RGB"))
    return DigitImages(imgs, targets[idx])


def caption_samples(data: DigitImages, seed: int = 0, templates: Sequence[str] = TEMPLATES,
                    prefix: str = "digit") -> list[Sample]:
    """One sample per image with a seeded random template: the 'LAION shard' of the demo."""
    rng = random.Random(seed)
    out = []
    for i, (img, y) in enumerate(zip(data.images, data.labels, strict=True)):
        caption = rng.choice(list(templates)).format(DIGIT_NAMES[int(y)])
        out.append(Sample(key=f"{prefix}{i:06d}", image=encode_image(img), caption=caption,
                          meta={"label": int(y)}, image_ext="png"))
    return out

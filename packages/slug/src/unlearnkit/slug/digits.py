"""The embedded offline default: the shared core's digits (scikit-learn's 8x8 digits, fixed 1437/360 split,
upsampled to 32x32) as image-caption pairs for a tiny CLIP.

Each digit image gets a caption from a few templates naming the digit ("a photo of the number seven.");
forgetting "seven" is then the digits analogue of forgetting a celebrity's name.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

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


@lru_cache(maxsize=2)
def _split_images(split: str) -> tuple[tuple, np.ndarray]:
    """The core's digits split as 8-bit RGB PIL images (the shards store PNGs, CLIP preprocesses PIL)."""
    import torch
    from PIL import Image
    from unlearnkit.shared.data import load_dataset

    ds = load_dataset("digits", split)  # fixed 1437/360 split, 1x32x32 tensors normalised by the core
    if ds.info.image_size != IMAGE_SIZE or ds.info.in_chans != 1:  # pragma: no cover - core layout changed
        raise RuntimeError(f"unexpected digits layout {ds.info}")
    x = torch.stack([ds[i][0] for i in range(len(ds))])
    # undo the core's normalisation: back to [0, 1], then 8 bit (CLIP's preprocessing re-normalises)
    x = x * ds.info.std[0] + ds.info.mean[0]
    arr = (x[:, 0] * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()
    images = tuple(Image.fromarray(a, mode="L").convert("RGB") for a in arr)
    return images, np.asarray(ds.targets, dtype=np.int64)


def load_digits_split(split: str = "train") -> DigitImages:
    """The shared core's digits split (``unlearnkit.shared.data.load_dataset("digits", split)``: the same
    seeded permutation and 32x32 bilinear upsampling everywhere in unlearnkit), de-normalised to 32x32 RGB
    PIL images for CLIP's own preprocessing."""
    images, labels = _split_images(split)
    return DigitImages(list(images), labels.copy())


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

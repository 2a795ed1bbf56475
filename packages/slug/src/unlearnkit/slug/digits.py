"""The embedded offline default: scikit-learn's 8x8 digits as image-caption pairs for a tiny CLIP.

Each digit image gets a caption from a few templates naming the digit ("a photo of the number seven.");
forgetting "seven" is then the digits analogue of forgetting a celebrity's name.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .shards import Sample, encode_image

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES = ("a photo of the number {}.", "a drawing of the digit {}.", "the handwritten number {}.",
             "an image of a {}.")
IMAGE_SIZE = 32
TEST_SIZE = 360  # 1437 train / 360 test, as the core's digits data set


@dataclass
class DigitImages:
    images: list  # PIL RGB 32x32
    labels: np.ndarray


def load_digits_split(split: str = "train", seed: int = 0) -> DigitImages:
    """A fixed stratified split of sklearn's digits (offline, bundled with scikit-learn)."""
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    idx_train, idx_test = train_test_split(np.arange(len(d.target)), test_size=TEST_SIZE, random_state=seed,
                                           stratify=d.target)
    idx = idx_train if split == "train" else idx_test
    imgs = []
    for i in idx:
        arr = (d.images[i] / 16.0 * 255.0).clip(0, 255).astype(np.uint8)
        imgs.append(Image.fromarray(arr, mode="L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR).convert("RGB"))
    return DigitImages(imgs, d.target[idx].astype(np.int64))


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

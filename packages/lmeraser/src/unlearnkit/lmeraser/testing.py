"""A tiny, deterministic LMEraser set-up for tests, the 2-process check and quick experiments.

A random (seeded) frozen ViT of the embedded architecture on a small slice of digits: everything builds in
a second and trains in a few, so exactness can be checked in the test suite and in spawned workers.
"""

from __future__ import annotations

import numpy as np
import torch

from .config import LMEraserConfig

__all__ = ["SMALL", "small_setup", "train_small"]

SMALL = {"num_clusters": 6, "epochs": 2, "batch_size": 16, "lr": 0.5}


def small_setup(num_public: int = 80, num_private: int = 120):
    """(backbone, store, public ids, private ids, test set)."""
    from unlearnkit.shared.data import load_dataset
    from unlearnkit.shared.models import create_model

    from .backbones import EMBEDDED_ARCH
    from .frozen import FrozenBackbone
    from .store import SampleStore

    train = load_dataset("digits")
    test = load_dataset("digits", "test")
    torch.manual_seed(0)
    model = create_model(EMBEDDED_ARCH["name"], 10, in_chans=1, **EMBEDDED_ARCH["kwargs"])
    perm = np.random.RandomState(0).permutation(len(train))
    public, private = np.sort(perm[:num_public]), np.sort(perm[num_public:num_public + num_private])
    return FrozenBackbone(model), SampleStore(train), public, private, test


def train_small(setup, cfg: LMEraserConfig | None = None, private=None, device="cpu"):
    from . import engine

    backbone, store, public, priv, _ = setup
    return engine.train(cfg or LMEraserConfig(**SMALL), backbone, store, public, priv if private is None else private,
                        num_classes=10, image_size=32, in_chans=1, device=device)

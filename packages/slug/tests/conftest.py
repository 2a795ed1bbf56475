"""Session fixtures: one very small CLIP trained for a few seconds on captioned digits, and its shards."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("SLUG_QUIET", "1")

TEST_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 48, "layers": 2, "head_width": 24, "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 12, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1, "mlp_ratio": 2.0},
}


@pytest.fixture(scope="session")
def digits_train():
    from unlearnkit.slug.digits import load_digits_split

    return load_digits_split("train")


@pytest.fixture(scope="session")
def trained_clip_path(tmp_path_factory, digits_train):
    """Trained once per session (a few seconds): good enough that zero-shot beats chance."""
    from unlearnkit.slug.clip_train import ClipTrainConfig, train_clip_on_labels
    from unlearnkit.slug.models import save_clip, tiny_clip

    torch.set_num_threads(1)
    bundle = tiny_clip(seed=0, config=TEST_CLIP_CONFIG)
    info = train_clip_on_labels(bundle, digits_train, ClipTrainConfig(epochs=4, batch_size=64, lr=3e-3))
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_clip(path, bundle, meta=info)
    return path


@pytest.fixture()
def trained_clip(trained_clip_path):
    from unlearnkit.slug.models import load_clip_checkpoint

    return load_clip_checkpoint(trained_clip_path)


@pytest.fixture(scope="session")
def digit_shards(tmp_path_factory, digits_train):
    """Three shards of captioned digits (the first 300 training images), like three LAION shards."""
    from unlearnkit.slug.digits import caption_samples
    from unlearnkit.slug.shards import ShardWriter

    root = tmp_path_factory.mktemp("shards")
    samples = caption_samples(digits_train)[:300]
    paths = []
    for i in range(3):
        p = root / f"{i:05d}.tar"
        with ShardWriter(p) as w:
            for s in samples[i * 100:(i + 1) * 100]:
                w.write(s)
        paths.append(p)
    return paths, samples

"""Session fixtures: the digits data and one tiny trained model, made once for all core tests."""

from __future__ import annotations

import os

import pytest
import torch

if not os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def digits():
    from unlearnkit.shared.workflows import load_data

    return load_data("digits")


@pytest.fixture(scope="session")
def tiny_trained(digits, tmp_path_factory):
    """An MLP trained 3 epochs on digits (~93%+ test accuracy), saved as a checkpoint."""
    from unlearnkit.shared.train import TrainConfig
    from unlearnkit.shared.workflows import train_model

    path = tmp_path_factory.mktemp("orig") / "orig.pt"
    cfg = TrainConfig(epochs=3, batch_size=64, lr=0.05)
    model, meta, _ = train_model(digits, "mlp", cfg, path, progress=False)
    return model, meta, path

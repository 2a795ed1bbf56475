"""Session-scoped fixtures: one tiny set-up and one trained model shared by every test."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def setup():
    from unlearnkit.lmeraser.testing import small_setup

    torch.set_num_threads(1)
    return small_setup()


@pytest.fixture(scope="session")
def small_cfg():
    from unlearnkit.lmeraser.config import LMEraserConfig
    from unlearnkit.lmeraser.testing import SMALL

    return LMEraserConfig(**SMALL)


@pytest.fixture(scope="session")
def trained(setup, small_cfg):
    from unlearnkit.lmeraser.testing import train_small

    return train_small(setup, small_cfg)

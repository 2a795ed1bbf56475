"""Shared fixtures: one small original model on digits, trained once per test session."""

from __future__ import annotations

import pytest
import torch
from unlearnkit.ps_unlearn.experiment import ExperimentOptions, train_original


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """An MLP trained on digits for a few epochs with the package's own trainer (so meta has W_init)."""
    out = tmp_path_factory.mktemp("ps_run")
    opts = ExperimentOptions(out_dir=str(out), model="mlp", train_epochs=4, progress=False)
    path = train_original(opts)
    return opts, path

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


# The CLI flags of a tiny, fast run: random tiny backbone, large public split (so the private part is small).
CLI_FAST = ["--model", "tiny-random", "--public-size", "1330", "--num-clusters", "4", "--epochs", "1",
            "--batch-size", "32", "--device", "cpu"]


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory):
    """One `lmeraser train` through the CLI, shared by the CLI and hostile-input tests (which copy its files)."""
    from typer.testing import CliRunner
    from unlearnkit.lmeraser.cli import app

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("cli")
    res = CliRunner().invoke(app, ["train", "--data-root", str(d / "data"), "--out", str(d / "lm.pt"), *CLI_FAST])
    assert res.exit_code == 0, res.output
    return d

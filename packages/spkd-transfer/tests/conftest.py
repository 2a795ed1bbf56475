"""One tiny digits run shared by the workflow/CLI tests: an MLP original, its retrained reference and an
SPKD model, trained once per session (a few seconds on one core)."""

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

CLASSES = "4,6"


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    from unlearnkit.spkd_transfer import workflows as wf

    d = tmp_path_factory.mktemp("spkd_run")
    wf.train_original("digits", "mlp", d, epochs=8, progress=False)
    wf.forget("retrain", d / "original.pt", d, class_to_replace=CLASSES, flags={"unlearn_epochs": 8})
    wf.forget("spkd", d / "original.pt", d, flags={"unlearn_epochs": 5}, retrained_path=d / "retrain.pt")
    return d

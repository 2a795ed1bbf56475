"""Run by test_core_distributed in 2 gloo processes (and once alone): train, then save the weights."""

import os
import sys

import torch
from unlearnkit.shared import distributed as dist
from unlearnkit.shared.data import load_dataset
from unlearnkit.shared.models import create_model
from unlearnkit.shared.train import TrainConfig, fit


def train_once() -> dict:
    """The run both ways: 2 gloo ranks of 32 samples each, or one process with the global batch of 64."""
    torch.manual_seed(0)
    model = create_model("mlp", 10, in_chans=1)  # no BatchNorm: the global-batch equivalence is exact
    data = load_dataset("digits").subset(range(256))
    fit(model, data, TrainConfig(epochs=2, batch_size=64, lr=0.05, weight_decay=0.0), progress=False)
    return model.state_dict()


def main(out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_distributed()
    state = train_once()
    torch.save(state, os.path.join(out_dir, f"rank{dist.rank()}-of{dist.world_size()}.pt"))
    dist.cleanup()


if __name__ == "__main__":
    main(sys.argv[1])

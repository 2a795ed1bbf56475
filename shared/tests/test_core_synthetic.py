"""The synthetic data sets: exact shapes, per-index determinism, learnable class structure."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner
from unlearnkit.shared.data import DATASETS, dataset_info, load_dataset
from unlearnkit.shared.errors import UnlearnkitError


def test_synthetic_cifar10_shapes_and_balanced_classes():
    train, test = load_dataset("synthetic-cifar10", "train"), load_dataset("synthetic-cifar10", "test")
    assert len(train) == 50_000 and len(test) == 10_000
    x, y = train[123]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and 0 <= y < 10
    assert np.bincount(train.targets).tolist() == [5_000] * 10
    assert np.bincount(test.targets).tolist() == [1_000] * 10
    assert dataset_info("synthetic-cifar10").num_classes == 10


def test_synthetic_is_deterministic_per_index_and_splits_differ():
    a = load_dataset("synthetic-cifar10", "train")
    b = load_dataset("synthetic-cifar10", "train")
    for i in (0, 7, 49_999):
        assert torch.equal(a[i][0], b[i][0]) and a[i][1] == b[i][1]
    # a subset reads the same pixels as the full set, in any order
    sub = b.subset([49_999, 7])
    assert torch.equal(sub[0][0], a[49_999][0]) and torch.equal(sub[1][0], a[7][0])
    assert not torch.equal(a[0][0], a[1][0])
    test = load_dataset("synthetic-cifar10", "test")
    assert not torch.equal(test[0][0], a[0][0])
    # roughly normalised: no statistics needed
    batch = torch.stack([a[i][0] for i in range(64)])
    assert abs(float(batch.mean())) < 0.1 and 0.8 < float(batch.std()) < 1.2


def test_synthetic_imagenet_default_and_family_sizes():
    ds = load_dataset("synthetic-imagenet", "train")
    assert len(ds) == 1_000 and ds.num_classes == 10 and ds[0][0].shape == (3, 224, 224)
    assert len(load_dataset("synthetic-imagenet", "test")) == 200
    fam = load_dataset("synthetic-imagenet-50x4", "train")
    assert len(fam) == 200 and fam.num_classes == 50 and set(fam.targets.tolist()) == set(range(50))
    assert len(load_dataset("synthetic-imagenet-50x4", "test")) == 50  # max(1, 4 // 5) per class
    assert "synthetic-imagenet-50x4" in DATASETS
    small = load_dataset("synthetic-imagenet-3", "test", image_size=64, in_chans=1)
    assert small[0][0].shape == (1, 64, 64) and len(small) == 60
    with pytest.raises(UnlearnkitError):
        load_dataset("synthetic-imagenet-1x", "train")


def test_a_small_model_learns_synthetic_cifar10_quickly():
    from unlearnkit.shared.train import TrainConfig, evaluate, fit
    from unlearnkit.shared.workflows import build_model_for

    torch.manual_seed(0)
    train = load_dataset("synthetic-cifar10", "train").subset(np.arange(600))
    test = load_dataset("synthetic-cifar10", "test").subset(np.arange(300))
    model = build_model_for(train, "lenet5")
    fit(model, train, TrainConfig(epochs=2, batch_size=32, lr=0.05), progress=False)
    assert evaluate(model, test) > 50.0  # chance is 10%


def test_datasets_command_names_them_synthetic():
    from unlearnkit.shared.cli import app

    out = CliRunner().invoke(app, ["datasets"]).output
    lines = [line for line in out.splitlines() if line.startswith("synthetic-")]
    assert {line.split()[0] for line in lines} >= {"synthetic-cifar10", "synthetic-imagenet"}
    assert all("SYNTHETIC" in line for line in lines)

"""Test-wide settings: one torch thread per pytest-xdist worker; ``cuda``-marked tests skip without a GPU.

Two workers with two OpenMP threads each on a 2-core machine oversubscribe the cores, and spinning OpenMP
threads then slow tiny models down many times over.
"""

import os

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)

"""Test-wide settings: one torch thread per pytest-xdist worker.

Two workers with two OpenMP threads each on a 2-core machine oversubscribe the cores, and spinning OpenMP
threads then slow tiny models down many times over.
"""

import os

import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

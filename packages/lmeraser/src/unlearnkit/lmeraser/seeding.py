"""Seeds derived from names, so that a cluster's randomness depends on nothing but its own identity.

Exact unlearning needs each cluster's training to be a pure function of (run seed, cluster id, members).
Drawing from one global generator would make cluster 7's initial prompt depend on how many random numbers
clusters 0-6 consumed, so erasing a sample from cluster 3 would silently change every later cluster.
"""

from __future__ import annotations

import hashlib

import torch

__all__ = ["derive_seed", "make_generator", "stable_hash"]


def stable_hash(*keys: object) -> int:
    """A 63-bit integer from the keys' text, identical across processes and Python versions
    (Python's ``hash`` is salted per process, so it cannot be used for anything persisted)."""
    text = "\x1f".join(str(k) for k in keys).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") & ((1 << 63) - 1)


def derive_seed(seed: int, *keys: object) -> int:
    """The seed of one named stream, e.g. ``derive_seed(0, "cluster", 5, "init")``."""
    return stable_hash("unlearnkit.lmeraser", int(seed), *keys)


def make_generator(seed: int, *keys: object) -> torch.Generator:
    """A CPU generator for one named stream (CPU so that the draws are identical on every device)."""
    g = torch.Generator()
    g.manual_seed(derive_seed(seed, *keys))
    return g

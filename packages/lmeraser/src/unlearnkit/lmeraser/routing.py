"""Which cluster (prompt + head) serves a sample.

Two assignment rules, in a registry so the trainer and the CLI never branch on the method name:
``lmeraser`` routes to the nearest prototype; ``random_part_tuning`` (the paper's baseline) assigns by a hash
of the sample id, so a sample keeps its partition across epochs (the published code hashed the augmented
image tensor, which changed every epoch).
"""

from __future__ import annotations

import numpy as np
import torch

from .seeding import stable_hash

__all__ = ["nearest_prototype", "hash_partition"]


def nearest_prototype(features: torch.Tensor, prototypes: torch.Tensor, active: torch.Tensor | None = None,
                      chunk: int = 1024) -> torch.Tensor:
    """Index of the nearest prototype (euclidean) for every row; ties go to the lowest index.

    ``active`` (bool, K) restricts routing to clusters that still have members: a cluster emptied by an
    erase serves nobody, exactly as if it had never had members. Distances are computed row by row in
    float64 so a sample's route never depends on which other samples share its batch.
    """
    protos = prototypes.double().cpu()
    feats = features.double().cpu()
    out = torch.empty(len(feats), dtype=torch.long)
    for start in range(0, len(feats), chunk):
        block = feats[start:start + chunk]
        dist = ((block[:, None, :] - protos[None, :, :]) ** 2).sum(-1)
        if active is not None:
            dist[:, ~active.cpu().bool()] = float("inf")
        out[start:start + chunk] = dist.argmin(dim=1)
    return out


def hash_partition(ids: np.ndarray | list[int], num_parts: int, seed: int) -> np.ndarray:
    """Partition of each sample id: a seeded hash, independent of the image and of every other sample."""
    return np.asarray([stable_hash("part", int(seed), int(i)) % num_parts for i in np.asarray(ids).tolist()], dtype=np.int64)

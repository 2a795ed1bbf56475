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


# Relative width of the band of "possibly nearest" prototypes. The expanded distance |x|^2 + |p|^2 - 2 x.p in
# float64 errs by about d * 2^-53 * (|x|^2 + |p|^2) (~1e-13 for d = 768); the band is four orders wider, so
# the true nearest prototype is always inside it, and only genuine near-ties are ever recomputed.
_BAND = 1e-9


def nearest_prototype(features: torch.Tensor, prototypes: torch.Tensor, active: torch.Tensor | None = None,
                      chunk: int = 4096) -> torch.Tensor:
    """Index of the nearest prototype (euclidean) for every row; ties go to the lowest index.

    ``active`` (bool, K) restricts routing to clusters that still have members: a cluster emptied by an
    erase serves nobody, exactly as if it had never had members.

    Runs on every inference batch, so it must be cheap at real sizes: distances come from one float64 matrix
    product per chunk (chunk x K memory, never chunk x K x d). A matrix product's rounding may depend on the
    batch, so the decision never rests on it alone: every prototype within a relative band of the row's
    minimum is re-measured as sum((x - p)^2) in float64, row by row, and the smallest wins (lowest index
    on ties). A sample's route is therefore the same alone or in any batch, and the same as the direct
    float64 computation over all prototypes.
    """
    if len(features) == 0:
        return torch.empty(0, dtype=torch.long)
    if len(prototypes) == 0:
        raise ValueError("no prototypes to route to")
    device = features.device
    protos = prototypes.to(device=device, dtype=torch.float64)
    mask = None if active is None else ~active.to(device=device, dtype=torch.bool)
    p_sq = (protos * protos).sum(1)
    p_sq_max = float(p_sq.max())
    out = torch.empty(len(features), dtype=torch.long, device=device)
    for start in range(0, len(features), chunk):
        block = features[start:start + chunk].to(torch.float64)  # per chunk: memory never grows with N
        x_sq = (block * block).sum(1, keepdim=True)
        dist = torch.addmm(x_sq + p_sq[None, :], block, protos.T, alpha=-2.0)
        if mask is not None:
            dist[:, mask] = float("inf")
        best, arg = dist.min(dim=1)
        band = _BAND * (x_sq[:, 0] + p_sq_max)
        near = dist <= (best + band)[:, None]
        arg = arg.clone()
        for row in torch.nonzero(near.sum(1) > 1).flatten().tolist():
            arg[row] = _exact_nearest(block[row], protos, torch.nonzero(near[row]).flatten(), mask)
        out[start:start + chunk] = arg
    return out.cpu()  # routes are CPU indices wherever the features live (callers index numpy arrays)


def _exact_nearest(x: torch.Tensor, protos: torch.Tensor, candidates: torch.Tensor,
                   inactive: torch.Tensor | None) -> int:
    """The candidate with the smallest directly computed float64 distance; the lowest index on ties."""
    x, protos, candidates = x.cpu(), protos.cpu(), candidates.cpu()
    dist = ((x[None, :] - protos[candidates]) ** 2).sum(-1)
    if inactive is not None:
        dist[inactive.cpu()[candidates]] = float("inf")
    return int(candidates[int(dist.argmin())])


def hash_partition(ids: np.ndarray | list[int], num_parts: int, seed: int) -> np.ndarray:
    """Partition of each sample id: a seeded hash, independent of the image and of every other sample."""
    return np.asarray([stable_hash("part", int(seed), int(i)) % num_parts for i in np.asarray(ids).tolist()], dtype=np.int64)

"""Multi-process training by sharding clusters across ranks.

Design: every cluster is owned by exactly one rank, which trains it alone; afterwards each owner broadcasts
its clusters' results so that every rank ends with the full, identical set of prompts and heads. Clusters
are independent by construction, so this is the same computation as one process doing all of them
(results are bit-identical to a single-process run on CPU), and it scales to as many ranks as there are
clusters with no gradient traffic at all. (DDP would all-reduce the gradients of one cluster's tiny prompt
at every step, and the published code trained an independent, never-synchronised copy per rank.)

Ownership is a deterministic longest-processing-time assignment by member count, so that ranks get similar
amounts of work and every rank computes the same assignment without communicating.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch.distributed as dist

__all__ = ["assign_owners", "world", "gather_results", "shard_rows"]


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def assign_owners(clusters: Sequence[int], sizes: Sequence[int], world_size: int) -> dict[int, int]:
    """cluster -> rank: biggest clusters first, each to the least-loaded rank (ties: lowest rank)."""
    load = [0] * world_size
    owners: dict[int, int] = {}
    for size, cluster in sorted(zip(sizes, clusters, strict=True), key=lambda t: (-t[0], t[1])):
        r = min(range(world_size), key=lambda i: (load[i], i))
        owners[cluster] = r
        load[r] += max(1, size)
    return owners


def gather_results(owned: dict[int, Any], owners: dict[int, int]) -> dict[int, Any]:
    """Every rank receives every cluster's result from its owner (CPU objects, one broadcast per rank)."""
    rank, size = world()
    if size == 1:
        return dict(owned)
    out: dict[int, Any] = {}
    for src in range(size):
        box = [owned if src == rank else None]
        dist.broadcast_object_list(box, src=src)
        out.update(box[0])
    missing = set(owners) - set(out)
    if missing:
        raise RuntimeError(f"clusters {sorted(missing)} were not trained by any rank")
    return out


def shard_rows(n: int, compute: Callable[[Sequence[int]], Any], merge: Callable[[list[Any]], Any]) -> Any:
    """Split rows 0..n-1 round-robin over the ranks, compute each share, and merge all shares (in rank
    order) on every rank. Used to extract routing features once instead of once per rank."""
    rank, size = world()
    mine = compute(list(range(rank, n, size)))
    if size == 1:
        return merge([mine])
    parts: list[Any] = [None] * size
    dist.all_gather_object(parts, mine)
    return merge(parts)

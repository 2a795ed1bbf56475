"""Who belongs to which cluster: the plan that training and erase share.

A :class:`Partition` maps every private sample id to one cluster and every public (non-erasable) sample id
to the cluster whose validation set it joins. Strategies live in a registry keyed by ``--erasing-method``:

* ``lmeraser``: agglomerative clustering of the public sample's features defines the prototypes; private
  and public samples go to the nearest prototype. Prototypes never depend on private data.
* ``random_part_tuning``: as many partitions as ``lmeraser`` would make (or ``--num-clusters``), each sample
  placed by a seeded hash of its id.

``--one-prompt`` is either strategy with a single cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from unlearnkit.shared.registry import Registry

from .clustering import cluster_features, compute_prototypes
from .routing import hash_partition, nearest_prototype

__all__ = ["Partition", "PARTITIONERS", "make_partition", "group_ids"]


@dataclass
class Partition:
    num_clusters: int
    routing: str  # "prototype" (nearest prototype at inference) or "ensemble" (average every partition)
    prototypes: torch.Tensor | None
    members: list[np.ndarray]  # sorted private ids per cluster
    val_members: list[np.ndarray]  # sorted public ids per cluster

    def cluster_of(self) -> dict[int, int]:
        return {int(i): c for c, ids in enumerate(self.members) for i in ids.tolist()}

    def active(self) -> torch.Tensor:
        return torch.tensor([len(m) > 0 for m in self.members], dtype=torch.bool)


def group_ids(ids: np.ndarray, labels: np.ndarray, k: int) -> list[np.ndarray]:
    ids, labels = np.asarray(ids, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    return [np.sort(ids[labels == c]) for c in range(k)]


Partitioner = Callable[..., Partition]
PARTITIONERS: Registry[Partitioner] = Registry("erasing method")


def _num_clusters(public_feats, distance_threshold, num_clusters, one_prompt) -> tuple[np.ndarray, int]:
    if one_prompt:
        labels = np.zeros(len(public_feats), dtype=np.int64)
    else:
        labels = cluster_features(public_feats, distance_threshold=distance_threshold, num_clusters=num_clusters)
    return labels, int(labels.max()) + 1 if len(labels) else 1


@PARTITIONERS.register("lmeraser")
def prototype_partition(public_ids, public_feats, private_ids, private_feats, *, distance_threshold=None,
                        num_clusters=None, one_prompt=False, seed=0) -> Partition:
    labels, k = _num_clusters(public_feats, distance_threshold, num_clusters, one_prompt)
    prototypes = compute_prototypes(public_feats, labels)
    private_route = nearest_prototype(private_feats, prototypes).numpy() if len(private_ids) else np.zeros(0, np.int64)
    public_route = nearest_prototype(public_feats, prototypes).numpy()
    return Partition(k, "prototype", prototypes, group_ids(private_ids, private_route, k),
                     group_ids(public_ids, public_route, k))


@PARTITIONERS.register("random_part_tuning", aliases=("random",))
def random_partition(public_ids, public_feats, private_ids, private_feats, *, distance_threshold=None,
                     num_clusters=None, one_prompt=False, seed=0) -> Partition:
    if num_clusters is not None or one_prompt:
        k = 1 if one_prompt else int(num_clusters)
    else:  # the paper's comparison: as many partitions as the clustering would have made
        _, k = _num_clusters(public_feats, distance_threshold, None, False)
    return Partition(k, "ensemble", None, group_ids(private_ids, hash_partition(private_ids, k, seed), k),
                     group_ids(public_ids, hash_partition(public_ids, k, seed), k))


def make_partition(method: str, *args, **kwargs) -> Partition:
    return PARTITIONERS.get(method)(*args, **kwargs)

"""Train all clusters, and erase samples by retraining only the clusters that held them.

Why erase is exact (bit-identical to training without the erased ids, on CPU):

1. Prototypes come from the public clustering sample, so removing private ids moves no prototype and
   no remaining sample changes cluster (and test routing depends only on prototypes and on which clusters
   still have members, which is the same in both worlds).
2. Each cluster's training is a pure function of (seed, cluster id, its sorted member ids, their data)
   (see :mod:`.trainer`); an erase reruns that function from the cluster's initial state on the remaining
   members, which is precisely what training without the erased ids runs for that cluster.
3. Every other cluster's function sees identical inputs, so its stored result is reused unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.progress import progress_bar

from .config import LMEraserConfig
from .frozen import FrozenBackbone
from .partition import Partition, make_partition
from .prompters import scaled_prompt_size
from .sharding import assign_owners, gather_results, shard_rows, world
from .state import LMEraserState
from .store import SampleStore
from .trainer import ClusterResult, ClusterTrainConfig, train_cluster

__all__ = ["extract_features", "build_partition", "train_clusters", "train", "erase", "cluster_train_config"]


@torch.no_grad()
def extract_features(backbone: FrozenBackbone, store: SampleStore, ids: Sequence[int] | np.ndarray,
                     batch_size: int = 64, device: str | torch.device = "cpu") -> torch.Tensor:
    """Un-prompted backbone features of ``ids`` (rows in the order given), shared out across ranks."""
    ids = np.asarray(ids, dtype=np.int64)
    device = torch.device(device)
    backbone.to(device)

    def compute(rows: Sequence[int]) -> tuple[list[int], torch.Tensor]:
        out = []
        for start in range(0, len(rows), batch_size):
            x, _ = store.batch(ids[np.asarray(rows[start:start + batch_size], dtype=np.int64)])
            out.append(backbone(x.to(device)).float().cpu())
        dim = backbone.feature_dim or 0
        return list(rows), torch.cat(out) if out else torch.zeros(0, dim)

    def merge(parts: list[tuple[list[int], torch.Tensor]]) -> torch.Tensor:
        rows = [r for p in parts for r in p[0]]
        feats = torch.cat([p[1] for p in parts])
        result = torch.empty_like(feats)
        result[torch.as_tensor(rows, dtype=torch.long)] = feats
        return result

    return shard_rows(len(ids), compute, merge)


def cluster_train_config(cfg: LMEraserConfig, *, num_classes: int, image_size: int, in_chans: int) -> ClusterTrainConfig:
    return ClusterTrainConfig(
        num_classes=num_classes, image_size=image_size, in_chans=in_chans,
        prompt_pixels=scaled_prompt_size(cfg.prompt_size, image_size), prompter=cfg.prompter, epochs=cfg.epochs,
        batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
        warmup_epochs=cfg.warmup_epochs, init_std=cfg.init_std, keep_best=cfg.keep_best,
    )


def build_partition(cfg: LMEraserConfig, backbone: FrozenBackbone, store: SampleStore, public_ids, private_ids,
                    device="cpu") -> Partition:
    public_ids = np.sort(np.asarray(public_ids, dtype=np.int64))
    private_ids = np.sort(np.asarray(private_ids, dtype=np.int64))
    if len(public_ids) == 0:
        raise UnlearnkitError("the public clustering sample is empty")
    public_feats = extract_features(backbone, store, public_ids, cfg.feature_batch_size, device)
    private_feats = extract_features(backbone, store, private_ids, cfg.feature_batch_size, device)
    dt = cfg.distance_threshold
    nc = None if dt is not None else cfg.num_clusters
    if dt is None and nc is None and not cfg.one_prompt:
        raise UnlearnkitError("give --distance-threshold or --num-clusters")
    return make_partition(cfg.method, public_ids, public_feats, private_ids, private_feats,
                          distance_threshold=dt, num_clusters=nc, one_prompt=cfg.one_prompt, seed=cfg.seed)


def train_clusters(backbone: FrozenBackbone, store: SampleStore, partition: Partition, clusters: Sequence[int],
                   tcfg: ClusterTrainConfig, *, seed: int, device="cpu", progress: bool = False,
                   label: str = "training clusters") -> dict[int, ClusterResult]:
    """Train the listed clusters, each on its own rank when distributed; every rank gets every result."""
    rank, size = world()
    clusters = sorted(int(c) for c in clusters)
    owners = assign_owners(clusters, [len(partition.members[c]) for c in clusters], size)
    mine = [c for c in clusters if owners[c] == rank]
    owned: dict[int, ClusterResult] = {}
    with progress_bar(label, len(mine), enabled=progress and rank == 0) as advance:
        for c in mine:
            owned[c] = train_cluster(backbone, store, partition.members[c], tcfg, seed=seed, cluster=c,
                                     val_ids=partition.val_members[c], device=device)
            advance()
    return gather_results(owned, owners)


def train(cfg: LMEraserConfig, backbone: FrozenBackbone, store: SampleStore, public_ids, private_ids, *,
          num_classes: int, image_size: int, in_chans: int, device="cpu", progress: bool = False,
          backbone_info: dict[str, Any] | None = None, pipeline: dict[str, Any] | None = None) -> LMEraserState:
    """Cluster, route and train every cluster from scratch."""
    overlap = np.intersect1d(public_ids, private_ids)
    if len(overlap):
        raise UnlearnkitError(f"{len(overlap)} ids are both public and private (e.g. {int(overlap[0])})")
    tcfg = cluster_train_config(cfg, num_classes=num_classes, image_size=image_size, in_chans=in_chans)
    partition = build_partition(cfg, backbone, store, public_ids, private_ids, device)
    start = time.perf_counter()
    results = train_clusters(backbone, store, partition, range(partition.num_clusters), tcfg, seed=cfg.seed,
                             device=device, progress=progress)
    seconds = time.perf_counter() - start
    return LMEraserState(cfg, tcfg, partition, results, np.sort(np.asarray(public_ids, dtype=np.int64)),
                         np.zeros(0, dtype=np.int64), seconds, dict(backbone_info or {}), dict(pipeline or {}))


def _check_erasable(state: LMEraserState, ids: np.ndarray) -> None:
    if len(ids) == 0:
        raise UnlearnkitError("nothing to erase: the request names no ids")
    already = np.intersect1d(ids, state.erased_ids)
    if len(already):
        raise UnlearnkitError(f"{len(already)} ids were already erased (e.g. {int(already[0])})")
    public = np.intersect1d(ids, state.public_ids)
    if len(public):
        raise UnlearnkitError(
            f"{len(public)} ids belong to the public clustering sample and cannot be erased (e.g. {int(public[0])})")
    unknown = np.setdiff1d(ids, state.private_ids)
    if len(unknown):
        raise UnlearnkitError(f"{len(unknown)} ids are not private training samples (e.g. {int(unknown[0])})")


def erase(state: LMEraserState, ids: Sequence[int] | np.ndarray, backbone: FrozenBackbone, store: SampleStore, *,
          device="cpu", progress: bool = False) -> tuple[LMEraserState, dict[str, Any]]:
    """A new state without ``ids`` (the given one is left untouched), and the record of the request."""
    ids = np.unique(np.asarray(ids, dtype=np.int64))
    _check_erasable(state, ids)
    start = time.perf_counter()
    new = state.copy()
    part = new.partition
    affected = sorted({c for c, m in enumerate(part.members) if np.isin(m, ids).any()})
    for c in affected:
        part.members[c] = np.setdiff1d(part.members[c], ids)
    results = train_clusters(backbone, store, part, affected, new.train_cfg, seed=new.config.seed, device=device,
                             progress=progress, label="retraining affected clusters")
    new.clusters.update(results)
    new.erased_ids = np.union1d(new.erased_ids, ids)
    seconds = time.perf_counter() - start
    record = {
        "erased_ids": ids.tolist(),
        "num_erased": int(len(ids)),
        "affected_clusters": affected,
        "emptied_clusters": [c for c in affected if len(part.members[c]) == 0],
        "retrained_samples": int(sum(len(part.members[c]) for c in affected)),
        "total_private_samples": int(len(new.private_ids)),
        "num_clusters": part.num_clusters,
        "erase_seconds": seconds,
        "full_retrain_seconds": state.full_train_seconds,
        "cost_ratio": seconds / state.full_train_seconds if state.full_train_seconds > 0 else None,
    }
    new.history.append({k: v for k, v in record.items() if k != "erased_ids"})
    return new, record

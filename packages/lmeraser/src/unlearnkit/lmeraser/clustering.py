"""Agglomerative clustering of a *public* clustering sample, and the prototypes it defines.

Exactness design: the prototypes (cluster means) are computed from a fixed, non-erasable public sample, never
from the private data. Erasing a private sample therefore cannot move any prototype, so every remaining
sample keeps its route and only the clusters that held erased samples need retraining. (The published code
clustered the first 1000 *private* samples; with that choice, erasing one of them would move a prototype and
re-route an unknown number of other samples.)

Cluster ids are canonical: clusters are numbered by the position of their first member in the clustering
sample, so the numbering depends on the data only, not on scikit-learn's internal label order.
"""

from __future__ import annotations

import numpy as np
import torch
from unlearnkit.shared.errors import UnlearnkitError

__all__ = ["cluster_features", "compute_prototypes", "canonical_labels"]


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber labels 0..K-1 in order of first appearance."""
    mapping: dict[int, int] = {}
    out = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(labels.tolist()):
        out[i] = mapping.setdefault(lab, len(mapping))
    return out


def cluster_features(
    features: torch.Tensor, *, distance_threshold: float | None = None, num_clusters: int | None = None
) -> np.ndarray:
    """Average-linkage euclidean agglomerative clustering (the paper's), by distance threshold or count.

    Returns canonical labels, one per row of ``features``.
    """
    from sklearn.cluster import AgglomerativeClustering

    n = len(features)
    if (distance_threshold is None) == (num_clusters is None):
        raise UnlearnkitError("give exactly one of --distance-threshold or --num-clusters")
    if num_clusters is not None and not 1 <= num_clusters <= n:
        raise UnlearnkitError(f"--num-clusters must be between 1 and the clustering sample size {n}")
    if distance_threshold is not None and distance_threshold <= 0:
        raise UnlearnkitError("--distance-threshold must be > 0")
    if n < 2 or num_clusters == 1:
        return np.zeros(n, dtype=np.int64)
    x = features.detach().double().cpu().numpy()
    algo = AgglomerativeClustering(
        n_clusters=num_clusters, distance_threshold=distance_threshold, linkage="average", metric="euclidean"
    )
    return canonical_labels(algo.fit_predict(x))


def compute_prototypes(features: torch.Tensor, labels: np.ndarray) -> torch.Tensor:
    """The mean feature of every cluster (K x d, float32), summed in float64 in sample order so the result
    is reproducible bit for bit."""
    labels_t = torch.as_tensor(labels, dtype=torch.long)
    k = int(labels_t.max()) + 1 if len(labels_t) else 0
    feats = features.detach().double().cpu()
    sums = torch.zeros(k, feats.shape[1], dtype=torch.float64).index_add_(0, labels_t, feats)
    counts = torch.bincount(labels_t, minlength=k).clamp_min(1).double()
    return (sums / counts[:, None]).float()

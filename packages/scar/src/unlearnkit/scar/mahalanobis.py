"""Distances from embeddings to class distributions, and the choice of where each forget sample goes.

The distance uses L2-normalised vectors on both sides (the current model's Tukey-transformed embedding
and the class mean), so it stays comparable while the network changes scale during unlearning; it is the
squared form (no square root), which is what the loss minimises.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .stats import ClassStatistics, tukey_transform

__all__ = ["squared_mahalanobis", "select_targets", "distance_to_targets"]


def squared_mahalanobis(embeddings: torch.Tensor, stats: ClassStatistics) -> torch.Tensor:
    """``(B, K)`` matrix of ``(z^ - mu^_k)^T P_k (z^ - mu^_k)`` for every kept class ``k``."""
    z = F.normalize(tukey_transform(embeddings, stats.delta), p=2, dim=-1)
    mu = F.normalize(stats.means.to(z), p=2, dim=-1)
    diff = z[:, None, :] - mu[None, :, :]  # (B, K, d)
    return torch.einsum("bkd,kde,bke->bk", diff, stats.precisions.to(z), diff)


def select_targets(dists: torch.Tensor, labels: torch.Tensor, class_labels: torch.Tensor) -> torch.Tensor:
    """The *label* of the nearest class other than each sample's own label.

    Labels are compared with ``class_labels`` (the labels of the distance columns), never with column
    indices: once the forgotten class is dropped the two differ.
    """
    own = labels.reshape(-1, 1).to(class_labels.device) == class_labels.reshape(1, -1)
    masked = dists.detach().masked_fill(own.to(dists.device), float("inf"))
    if masked.shape[1] == 0 or bool(torch.isinf(masked).all(1).any()):
        raise ValueError("a sample has no class to be pushed towards")
    return class_labels.to(dists.device)[masked.argmin(1)]


def distance_to_targets(dists: torch.Tensor, stats: ClassStatistics, targets: torch.Tensor) -> torch.Tensor:
    """Each row's distance to its target class (a label, looked up through ``stats.labels``)."""
    cols = stats.column_of(targets.to(dists.device))
    return dists.gather(1, cols.reshape(-1, 1)).squeeze(1)

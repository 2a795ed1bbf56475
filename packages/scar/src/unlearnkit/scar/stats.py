"""Per-class Gaussian statistics of embeddings: the map SCAR pushes forget samples across.

SCAR measures how far an embedding is from every class with a Mahalanobis distance. Embeddings are first
Tukey-transformed (which makes skewed, non-negative post-ReLU features closer to Gaussian), then each class
gets a mean and a *shrunk* covariance. Shrinkage matters because the surrogate (or retain) sample per class
is small next to the embedding dimension (512 for a ResNet-18), so the raw covariance is singular; the
shrunk matrix is then rescaled to a correlation matrix so that no feature dominates by its scale alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from unlearnkit.shared.errors import UnlearnkitError

__all__ = [
    "ClassStatistics",
    "tukey_transform",
    "shrink_covariance",
    "covariance_to_correlation",
    "fit_class_statistics",
]

_EPS = 1e-12


def tukey_transform(z: torch.Tensor, delta: float = 0.5) -> torch.Tensor:
    """``sign(z) * |z| ** delta``: equal to ``z ** delta`` on post-ReLU features, defined for signed ones.

    The magnitude is clamped away from 0 so that the gradient at exactly-zero features (common after ReLU)
    is 0 instead of ``inf * 0 = nan``; the value changes by at most ``1e-12 ** delta``.
    """
    return torch.sign(z) * z.abs().clamp_min(_EPS).pow(delta)


def shrink_covariance(cov: torch.Tensor, gamma1: float = 3.0, gamma2: float = 3.0) -> torch.Tensor:
    """``S + gamma1 * V1 * I + gamma2 * V2 * (11^T - I)``.

    ``V1`` is the mean variance and ``V2`` the mean of the *non-zero* off-diagonal entries (zeros are
    features that never fire together, and would otherwise dilute the estimate). This is one application,
    the paper's formula. The published SCAR code applies it twice (``shrink(shrink(S))``, with ``V1``/``V2``
    recomputed from the once-shrunk matrix) in both its class-removal and random-removal branches, and once
    in SCAR_self; ``fit_class_statistics(..., shrink_times=2)`` (``ScarParams.shrinkage="published"``)
    reproduces it.
    """
    d = cov.shape[0]
    eye = torch.eye(d, dtype=cov.dtype, device=cov.device)
    v1 = torch.diagonal(cov).mean()
    off = cov * (1 - eye)
    nonzero = off != 0
    v2 = off.sum() / nonzero.sum() if bool(nonzero.any()) else cov.new_zeros(())
    return cov + gamma1 * v1 * eye + gamma2 * v2 * (1 - eye)


def covariance_to_correlation(cov: torch.Tensor) -> torch.Tensor:
    """``S_ij / (sigma_i sigma_j)`` with ``sigma = sqrt(diag S)``; zero-variance features stay 0."""
    sigma = torch.sqrt(torch.diagonal(cov).clamp_min(0))
    denom = sigma[:, None] * sigma[None, :]
    return torch.where(denom > 0, cov / denom.clamp_min(_EPS), torch.zeros_like(cov))


@dataclass
class ClassStatistics:
    """Means and precision matrices of the Tukey-transformed embeddings, one row per *kept* class.

    ``labels[k]`` is the class label of row ``k``: in class removal the forgotten class is absent, so row
    indices and labels differ. Every consumer must go through ``labels`` (the published code compared a row
    index with a label, which picked the wrong target class).
    """

    labels: torch.Tensor  # (K,) int64
    means: torch.Tensor  # (K, d) Tukey-transformed means (not yet L2-normalised)
    precisions: torch.Tensor  # (K, d, d)
    counts: torch.Tensor  # (K,) samples behind each class
    delta: float = 0.5

    def to(self, device) -> ClassStatistics:
        return ClassStatistics(
            self.labels.to(device), self.means.to(device), self.precisions.to(device), self.counts, self.delta
        )

    def column_of(self, labels: torch.Tensor) -> torch.Tensor:
        """Row index of each label; asking for a class without statistics is a caller bug and raises."""
        match = labels.reshape(-1, 1).long() == self.labels.to(labels.device).reshape(1, -1)
        if not bool(match.any(1).all()):
            raise ValueError("asked for the statistics of a class that has none")
        return match.long().argmax(1)


def fit_class_statistics(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    *,
    num_classes: int,
    exclude: Iterable[int] = (),
    delta: float = 0.5,
    gamma1: float = 3.0,
    gamma2: float = 3.0,
    min_count: int = 2,
    shrink_times: int = 1,
) -> ClassStatistics:
    """Statistics for every class with at least ``min_count`` samples, except the ``exclude``d ones.

    Classes with too few samples are skipped rather than faked: a forget sample can only be sent towards a
    class whose region is known. Raises :class:`UnlearnkitError` when fewer than one class is left.
    ``shrink_times``: 1 (the paper) or 2 (the published SCAR code, see :func:`shrink_covariance`).
    """
    if shrink_times not in (1, 2):
        raise ValueError(f"shrink_times must be 1 or 2, got {shrink_times}")
    emb = tukey_transform(embeddings.detach().double(), delta)
    labels = labels.detach().long().cpu()
    excluded = {int(c) for c in exclude}
    kept, means, precs, counts = [], [], [], []
    for c in range(num_classes):
        if c in excluded:
            continue
        rows = emb[(labels == c).to(emb.device)]
        if len(rows) < min_count:
            continue
        cov = torch.cov(rows.T)
        for _ in range(shrink_times):
            cov = shrink_covariance(cov, gamma1, gamma2)
        corr = covariance_to_correlation(cov)
        kept.append(c)
        means.append(rows.mean(0))
        precs.append(torch.linalg.pinv(corr, hermitian=True))
        counts.append(len(rows))
    if not kept:
        raise UnlearnkitError(
            f"no class has {min_count}+ samples to estimate its statistics: use a larger surrogate set "
            "or --stats-from retain"
        )
    return ClassStatistics(
        labels=torch.tensor(kept, dtype=torch.long),
        means=torch.stack(means).float(),
        precisions=torch.stack(precs).float(),
        counts=torch.tensor(counts, dtype=torch.long),
        delta=delta,
    )

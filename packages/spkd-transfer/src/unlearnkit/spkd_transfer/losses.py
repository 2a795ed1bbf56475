"""Relational distillation losses for SPKD's restore phase.

SPKD keeps the unlearned model's *geometry* close to the original's rather than its raw features: on the
retain set the pairwise relations between samples are what a downstream k-NN or linear probe relies on,
so matching them preserves transfer while the forgotten classes' logits are free to collapse.

Every loss takes student and teacher features of shape ``[B, ...]`` (flattened to ``[B, d]``; the two
``d`` may differ, only relations are compared) and returns a scalar. The teacher side is always detached.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from unlearnkit.shared.registry import Registry

__all__ = [
    "DISTILL_LOSSES",
    "DistillLoss",
    "get_distill_loss",
    "sp_loss",
    "rkd_distance_loss",
    "rkd_angle_loss",
    "rkd_loss",
    "feature_mse_loss",
    "pairwise_distances",
]

DistillLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
DISTILL_LOSSES: Registry[DistillLoss] = Registry("distillation loss")


def _flat(f: torch.Tensor) -> torch.Tensor:
    return f.reshape(f.shape[0], -1)


def _check(student: torch.Tensor, teacher: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if student.shape[0] != teacher.shape[0]:
        raise ValueError(f"student and teacher batch sizes differ: {student.shape[0]} vs {teacher.shape[0]}")
    return _flat(student), _flat(teacher).detach()


@DISTILL_LOSSES.register("sp", aliases=("spkd", "similarity"))
def sp_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Similarity-preserving loss (Tung & Mori 2019) as SPKD uses it.

    G = F F^T with each row L2-normalised, then ||G_s - G_t||_F / B^2. Like the published code we take the
    Frobenius norm, not its square (the original SP paper squares it): the gradient then does not vanish as
    the two Gram matrices approach each other, which matters at SPKD's tiny learning rates.
    Row normalisation of G makes the loss invariant to rescaling the whole feature space (and G itself
    to rotating it); rescaling one sample alone still changes its column in the other rows, on purpose:
    a sample drifting in norm relative to the others is a change of geometry.
    """
    fs, ft = _check(student, teacher)
    b = fs.shape[0]
    gs = F.normalize(fs @ fs.t(), p=2, dim=1)
    gt = F.normalize(ft @ ft.t(), p=2, dim=1)
    return torch.linalg.norm(gs - gt, ord="fro") / (b * b)


def pairwise_distances(e: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Euclidean distance matrix with an exact zero diagonal (sqrt of a clamped value keeps gradients finite)."""
    sq = e.pow(2).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2 * e @ e.t()).clamp(min=eps)
    eye = torch.eye(e.shape[0], dtype=torch.bool, device=e.device)
    return d2.sqrt().masked_fill(eye, 0.0)


def _mean_normalised(d: torch.Tensor) -> torch.Tensor:
    pos = d[d > 0]
    return d / pos.mean() if pos.numel() else d


@DISTILL_LOSSES.register("rkd", aliases=("rkd-d", "distance"))
def rkd_distance_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """RKD distance term (Park et al. 2019): Huber loss between mean-normalised pairwise distance matrices.

    Dividing by the mean off-diagonal distance makes it scale-free, so the student may shrink or grow its
    feature space as a whole; only relative distances are held.
    """
    fs, ft = _check(student, teacher)
    with torch.no_grad():
        dt = _mean_normalised(pairwise_distances(ft))
    ds = _mean_normalised(pairwise_distances(fs))
    return F.smooth_l1_loss(ds, dt, reduction="mean")


def _angles(e: torch.Tensor) -> torch.Tensor:
    diff = F.normalize(e[None, :, :] - e[:, None, :], p=2, dim=2)  # [B, B, d]: unit vector j - i
    return torch.bmm(diff, diff.transpose(1, 2)).reshape(-1)  # cos of angle (j, i, k) for every triple


@DISTILL_LOSSES.register("akd", aliases=("rkd-a", "angle"))
def rkd_angle_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """RKD angle term: Huber loss between the cosines of every triplet's angle, student vs teacher.

    Angles are invariant to translation, rotation and scale of the feature space, the loosest constraint of
    the three; memory is O(B^2 d), fine for batch 128 at d=2048 on a GPU.
    """
    fs, ft = _check(student, teacher)
    with torch.no_grad():
        at = _angles(ft)
    return F.smooth_l1_loss(_angles(fs), at, reduction="mean")


@DISTILL_LOSSES.register("rkd-da")
def rkd_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Distance + angle on L2-normalised features: what the published repository's RKD variant trains with."""
    fs, ft = _check(student, teacher)
    fs, ft = F.normalize(fs, dim=1), F.normalize(ft, dim=1)
    return rkd_distance_loss(fs, ft) + rkd_angle_loss(fs, ft)


@DISTILL_LOSSES.register("mse", aliases=("feature-mse",))
def feature_mse_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Plain feature regression (the published repository's file named AKD does this): a non-relational
    control that shows what relational losses buy."""
    fs, ft = _check(student, teacher)
    if fs.shape != ft.shape:
        raise ValueError(f"feature MSE needs equal feature sizes, got {tuple(fs.shape)} and {tuple(ft.shape)}")
    return F.mse_loss(fs, ft)


def get_distill_loss(name: str) -> DistillLoss:
    """Look a loss up by name (``sp``, ``rkd``, ``akd``, ``rkd-da``, ``mse``); unknown -> UnlearnkitError."""
    return DISTILL_LOSSES.get(name)

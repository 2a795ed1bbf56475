"""Membership inference on CLIP: can a logistic regression tell forget pairs from held-out pairs by
their contrastive loss and image-caption cosine? ~50% after unlearning means it cannot."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ._core import UnlearnkitError
from .losses import clip_loss_per_sample


@torch.no_grad()
def pair_features(model: nn.Module, loader: DataLoader, device="cpu") -> np.ndarray:
    """[N, 2]: per-sample contrastive loss (against its batch) and image-caption cosine."""
    model.to(device).eval()
    out = []
    for x, t in loader:
        x, t = x.to(device), t.to(device)
        loss = clip_loss_per_sample(model, x, t)
        cos = (model.encode_image(x, normalize=True) * model.encode_text(t, normalize=True)).sum(-1)
        out.append(torch.stack([loss, cos], 1).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 2))


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 25) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (a handful of features: exact and instant,
    and free of the BLAS thread pools that make scikit-learn crawl on a shared two-core machine)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.eye(xb.shape[1]) * l2
    reg[-1, -1] = 0.0  # the intercept is not penalised
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg
        w -= np.linalg.solve(hess + 1e-9 * np.eye(len(w)), grad)
    return w


def _stratified_folds(y: np.ndarray, splits: int, rng: np.random.Generator) -> list[np.ndarray]:
    folds: list[list[int]] = [[] for _ in range(splits)]
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        for i, chunk in enumerate(np.array_split(idx, splits)):
            folds[i].extend(chunk.tolist())
    return [np.asarray(f) for f in folds]


def mia_accuracy(forget_feats: np.ndarray, heldout_feats: np.ndarray, splits: int = 10, seed: int = 0) -> float:
    """Mean held-out accuracy x 100 of a logistic regression over ``splits`` stratified folds, on a
    balanced set (the larger side subsampled, seeded); features standardised on each training fold."""
    n = min(len(forget_feats), len(heldout_feats))
    if n < splits:
        raise UnlearnkitError(f"MIA needs at least {splits} samples on each side, got {n}")
    rng = np.random.default_rng(seed)
    f = forget_feats[rng.permutation(len(forget_feats))[:n]]
    h = heldout_feats[rng.permutation(len(heldout_feats))[:n]]
    x = np.concatenate([f, h]).astype(np.float64)
    y = np.concatenate([np.ones(n), np.zeros(n)])
    folds = _stratified_folds(y, splits, rng)
    accs = []
    for i, te in enumerate(folds):
        tr = np.concatenate([folds[j] for j in range(splits) if j != i])
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-12
        w = _fit_logistic((x[tr] - mu) / sd, y[tr])
        xt = np.hstack([(x[te] - mu) / sd, np.ones((len(te), 1))])
        accs.append(float((((xt @ w) > 0).astype(float) == y[te]).mean()))
    return 100.0 * float(np.mean(accs))

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


def mia_accuracy(forget_feats: np.ndarray, heldout_feats: np.ndarray, splits: int = 10, seed: int = 0) -> float:
    """Mean held-out accuracy x 100 of a logistic regression over ``splits`` stratified folds, on a
    balanced set (the larger side subsampled, seeded)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n = min(len(forget_feats), len(heldout_feats))
    if n < splits:
        raise UnlearnkitError(f"MIA needs at least {splits} samples on each side, got {n}")
    rng = np.random.default_rng(seed)
    f = forget_feats[rng.permutation(len(forget_feats))[:n]]
    h = heldout_feats[rng.permutation(len(heldout_feats))[:n]]
    x = np.concatenate([f, h])
    y = np.concatenate([np.ones(n), np.zeros(n)])
    accs = []
    for tr, te in StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed).split(x, y):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x[tr], y[tr])
        accs.append(clf.score(x[te], y[te]))
    return 100.0 * float(np.mean(accs))

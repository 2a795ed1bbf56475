"""k-NN transfer accuracy: do the features still separate a downstream task's classes?

A cosine k-NN (k=5) on frozen features is the SPKD paper's probe of transferability: no training, so it
measures the representation itself rather than a fitted head.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["knn_accuracy", "knn_split", "knn_transfer_accuracy"]


def _np(a, dtype=None) -> np.ndarray:
    if torch.is_tensor(a):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    return a.astype(dtype) if dtype is not None else a


def knn_accuracy(train_x, train_y, test_x, test_y, k: int = 5) -> float:
    """Percent of test points whose majority label among the ``k`` cosine-nearest training points is
    right (scikit-learn ``KNeighborsClassifier(metric="cosine")``, uniform weights)."""
    xtr = _np(train_x, np.float64).reshape(len(train_x), -1)
    xte = _np(test_x, np.float64).reshape(len(test_x), -1)
    ytr, yte = _np(train_y).reshape(-1), _np(test_y).reshape(-1)
    if len(xtr) == 0:
        raise ValueError("k-NN needs at least one training point")
    if len(xte) == 0:
        return float("nan")
    from sklearn.neighbors import KNeighborsClassifier  # lazy: slow import

    clf = KNeighborsClassifier(n_neighbors=min(k, len(xtr)), metric="cosine", algorithm="brute")
    clf.fit(xtr, ytr)
    return float(100.0 * (clf.predict(xte) == yte).mean())


def knn_split(labels, test_size: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified train/test indices, so every model is probed on the very same split.

    Falls back to an unstratified (still seeded) split when some class is too small to stratify.
    """
    y = _np(labels).reshape(-1)
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    try:
        tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=y)
    except ValueError:
        tr, te = train_test_split(idx, test_size=test_size, random_state=seed)
    return np.sort(tr), np.sort(te)


def knn_transfer_accuracy(features, labels, k: int = 5, test_size: float = 0.2, seed: int = 0) -> float:
    """k-NN accuracy (percent) on a seeded stratified 80/20 split of one feature set."""
    x = _np(features, np.float64).reshape(len(features), -1)
    y = _np(labels).reshape(-1)
    tr, te = knn_split(y, test_size=test_size, seed=seed)
    return knn_accuracy(x[tr], y[tr], x[te], y[te], k=k)

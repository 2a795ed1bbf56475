"""SalUn's MIA-efficacy: how many forget samples a membership attack calls "not a member".

The attack (an RBF SVC, C=3, gamma='auto', as in Unlearn-Sparse / SalUn ``SVC_MIA``) learns what the
model's output looks like on samples it trained on (members: retain samples) versus samples it never saw
(non-members: test samples), then judges the forget set. A model that truly forgot should treat the
forget set like test data, so a high share of "non-member" verdicts (x100) means better forgetting; the
retrained model is the reference, not 100.

The model-free :func:`mia_efficacy_from_probs` holds all the logic so it can be tested on synthetic
probabilities; :func:`mia_efficacy` only runs the model.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from ..inference import predict

__all__ = [
    "MIA_FEATURES",
    "entropy",
    "modified_entropy",
    "mia_features",
    "mia_efficacy_from_probs",
    "mia_efficacy",
]

MIA_FEATURES = ("confidence", "correctness", "entropy", "m_entropy", "prob")
_TINY = 1e-30


def _np(a) -> np.ndarray:
    if torch.is_tensor(a):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def entropy(probs) -> np.ndarray:
    """Shannon entropy per row (nats), with 0 log 0 = 0."""
    p = _np(probs).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -terms.sum(axis=1)


def modified_entropy(probs, labels) -> np.ndarray:
    """Song & Mittal's modified entropy: -(1 - p_y) log p_y - sum_{i != y} p_i log(1 - p_i).

    Unlike plain entropy it knows the label, so a confidently *wrong* prediction scores high (non-member
    like) instead of low. Logs are clamped at 1e-30 as in the reference code. (Unlearn-Sparse's
    ``m_entropy`` indexes ``[:, labels]``, which mixes rows; this is the formula from the paper.)
    """
    p = _np(probs).astype(np.float64)
    y = _np(labels).astype(np.int64).reshape(-1)
    rows = np.arange(p.shape[0])
    log_p = np.log(np.maximum(p, _TINY))
    log_1mp = np.log(np.maximum(1.0 - p, _TINY))
    terms = p * log_1mp
    terms[rows, y] = (1.0 - p[rows, y]) * log_p[rows, y]
    return -terms.sum(axis=1)


def mia_features(probs, labels, feature: str = "confidence") -> np.ndarray:
    """The attack's input, ``[N, 1]`` for scalar features or ``[N, C]`` for ``"prob"``."""
    p = _np(probs).astype(np.float64)
    y = _np(labels).astype(np.int64).reshape(-1)
    if p.ndim != 2 or p.shape[0] != y.shape[0]:
        raise ValueError(f"probs must be [N, C] matching {y.shape[0]} labels, got {p.shape}")
    rows = np.arange(p.shape[0])
    if feature == "confidence":
        f = p[rows, y]
    elif feature == "correctness":
        f = (p.argmax(axis=1) == y).astype(np.float64)
    elif feature == "entropy":
        f = entropy(p)
    elif feature == "m_entropy":
        f = modified_entropy(p, y)
    elif feature == "prob":
        return p
    else:
        raise ValueError(f"unknown MIA feature {feature!r}; choose from {', '.join(MIA_FEATURES)}")
    return f.reshape(-1, 1)


def mia_efficacy_from_probs(
    member_probs,
    member_labels,
    nonmember_probs,
    nonmember_labels,
    target_probs,
    target_labels,
    feature: str = "confidence",
) -> float:
    """Percent of target (forget) samples that an SVC trained on members (label 1) vs non-members
    (label 0) predicts as non-members."""
    xm = mia_features(member_probs, member_labels, feature)
    xn = mia_features(nonmember_probs, nonmember_labels, feature)
    xt = mia_features(target_probs, target_labels, feature)
    if len(xm) == 0 or len(xn) == 0:
        raise ValueError("MIA needs at least one member and one non-member sample")
    if len(xt) == 0:
        return float("nan")
    x = np.concatenate([xm, xn])
    y = np.concatenate([np.ones(len(xm)), np.zeros(len(xn))])
    from sklearn.svm import SVC  # lazy: scikit-learn is slow to import and only needed here

    clf = SVC(C=3, gamma="auto", kernel="rbf")
    clf.fit(x, y)
    return float(100.0 * (1.0 - clf.predict(xt).mean()))


def _num_samples(data) -> int:
    """Samples (not batches) in a Dataset, a DataLoader or a list of ``(x, y)`` batches."""
    if isinstance(data, DataLoader):
        return len(data.dataset)
    if isinstance(data, Dataset):
        return len(data)
    return sum(len(b[1]) for b in data)


def _member_subset(retain, n: int, seed: int, pick: str):
    """``n`` retain samples as the attack's members: seeded random (default) or the first ``n``
    (what SalUn's code does: ``Subset(retain, range(len(test)))``, which is biased when retain is sorted)."""
    if isinstance(retain, DataLoader):
        retain = retain.dataset
    size = _num_samples(retain)
    if n >= size:
        return retain, None
    if pick == "first":
        idx = np.arange(n)
    elif pick == "random":
        idx = np.sort(np.random.default_rng(seed).choice(size, size=n, replace=False))
    else:
        raise ValueError(f"pick must be 'random' or 'first', got {pick!r}")
    if isinstance(retain, Dataset):
        sub = retain.subset(idx.tolist()) if hasattr(retain, "subset") else Subset(retain, idx.tolist())
        return sub, None
    return retain, idx  # an iterable of batches: predict everything, select afterwards


def mia_efficacy(
    model,
    retain,
    forget,
    test,
    device="cpu",
    feature: str = "confidence",
    seed: int = 0,
    batch_size: int = 256,
    pick: str = "random",
) -> float:
    """SalUn's MIA-efficacy (percent of the forget set judged non-member) for ``model``.

    Members are ``len(test)`` retain samples (all of retain if it is smaller), non-members the test set.
    """
    if feature not in MIA_FEATURES:
        raise ValueError(f"unknown MIA feature {feature!r}; choose from {', '.join(MIA_FEATURES)}")
    members, idx = _member_subset(retain, _num_samples(test), seed, pick)

    def probs(data):
        logits, y = predict(model, data, device=device, batch_size=batch_size)
        return torch.softmax(logits.double(), dim=1).numpy(), y.numpy()

    pm, ym = probs(members)
    if idx is not None:
        pm, ym = pm[idx], ym[idx]
    pn, yn = probs(test)
    pt, yt = probs(forget)
    return mia_efficacy_from_probs(pm, ym, pn, yn, pt, yt, feature=feature)

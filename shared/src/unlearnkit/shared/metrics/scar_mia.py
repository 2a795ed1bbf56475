"""SCAR's membership attack (Bonato et al.): can a tuned SVC tell forget samples from unseen ones?

Unlike SalUn's MIA-efficacy, the attack is trained *directly* on forget vs test softmax vectors and scored
on a held-out 20 %: an accuracy near 0.5 means the two are indistinguishable (ideal for random
forgetting, hence the HR score |100 * acc - 50|, lower is better).

- ``mode="CR"`` (class removal): forget-train samples vs the forgotten classes' *test* samples; forget is
  capped at 3x the test count, because a forgotten class has far more training than test images.
- ``mode="HR"`` (homogeneous / random removal): forget-train vs test samples, equal counts.

Each repeat draws its own subsample and split; the result is the mean over repeats.
"""

from __future__ import annotations

import numpy as np
import torch

from ..inference import predict

__all__ = ["SCAR_PARAM_GRID", "scar_mia_from_probs", "scar_mia"]

SCAR_PARAM_GRID = {"C": [1, 5, 10, 100], "gamma": [1, 0.1, 0.01]}


def _np(a) -> np.ndarray:
    if torch.is_tensor(a):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def scar_mia_from_probs(
    forget_probs,
    test_probs,
    mode: str = "CR",
    repeats: int = 5,
    seed: int = 0,
    test_size: float = 0.2,
    cv: int = 3,
    max_samples: int | None = None,
    n_jobs: int | None = None,
) -> dict:
    """Attack accuracy on softmax vectors; ``acc`` is a fraction, ``hr_score`` = |100 * acc - 50|.

    ``max_samples`` (off by default, i.e. the published protocol) caps the non-member side before the
    mode's rule is applied, since a grid-searched SVC is quadratic in the sample count.
    """
    from sklearn.model_selection import GridSearchCV, train_test_split  # lazy: slow import
    from sklearn.svm import SVC

    mode = mode.upper()
    if mode not in ("CR", "HR"):
        raise ValueError(f"mode must be 'CR' or 'HR', got {mode!r}")
    xf, xt = _np(forget_probs), _np(test_probs)
    rng = np.random.default_rng(seed)
    accs: list[float] = []
    n_f = n_t = 0
    for r in range(repeats):
        n_t = len(xt) if max_samples is None else min(len(xt), max_samples)
        n_f = min(len(xf), 3 * n_t) if mode == "CR" else min(len(xf), n_t)
        if mode == "HR":
            n_t = n_f
        if min(n_f, n_t) < max(cv, 2):
            raise ValueError(f"too few samples for the SCAR MIA: forget {n_f}, test {n_t}")
        f = xf[rng.choice(len(xf), n_f, replace=False)]
        t = xt[rng.choice(len(xt), n_t, replace=False)]
        x = np.concatenate([f, t])
        y = np.concatenate([np.ones(n_f, dtype=int), np.zeros(n_t, dtype=int)])
        x_tr, x_te, y_tr, y_te = train_test_split(
            x, y, test_size=test_size, stratify=y, random_state=seed * 1000 + r
        )
        search = GridSearchCV(SVC(kernel="rbf"), SCAR_PARAM_GRID, cv=cv, n_jobs=n_jobs)
        search.fit(x_tr, y_tr)
        accs.append(float((search.predict(x_te) == y_te).mean()))
    acc = float(np.mean(accs))
    return {
        "acc": acc,
        "acc_std": float(np.std(accs)),
        "hr_score": abs(100.0 * acc - 50.0),
        "accs": accs,
        "mode": mode,
        "n_forget": n_f,
        "n_test": n_t,
    }


def scar_mia(
    model,
    forget,
    test,
    device="cpu",
    mode: str = "CR",
    repeats: int = 5,
    seed: int = 0,
    batch_size: int = 256,
    **kwargs,
) -> dict:
    """SCAR's MIA for ``model``. For ``mode="CR"`` pass the forgotten classes' test part as ``test``
    (``splits.test_forget``); for ``"HR"`` the whole test set."""
    lf, _ = predict(model, forget, device=device, batch_size=batch_size)
    lt, _ = predict(model, test, device=device, batch_size=batch_size)
    return scar_mia_from_probs(
        torch.softmax(lf.double(), 1),
        torch.softmax(lt.double(), 1),
        mode=mode,
        repeats=repeats,
        seed=seed,
        **kwargs,
    )

"""Time the metrics at the digits bench's sizes (1437 train / 360 test, 10 classes) on synthetic outputs.

The bench must finish in minutes on 2 CPU cores, so each metric's cost at that scale is worth knowing.
Usage: OMP_NUM_THREADS=1 python tools/bench_metrics.py
"""

from __future__ import annotations

import time

import numpy as np
import torch
from unlearnkit.shared.metrics import (
    knn_transfer_accuracy,
    linear_cka,
    mia_efficacy_from_probs,
    scar_mia_from_probs,
    ulira_evaluate,
)


def timed(name, fn):
    t0 = time.perf_counter()
    out = fn()
    print(f"{name:<28} {time.perf_counter() - t0:7.3f} s   {out if np.isscalar(out) else ''}")


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    c, n_test, n_retain, n_forget = 10, 360, 1293, 144

    def probs(n, conc):
        return rng.dirichlet([conc] + [1.0] * (c - 1), n), np.zeros(n, dtype=int)

    ret, test, fgt = probs(n_retain, 30.0), probs(n_test, 5.0), probs(n_forget, 5.0)
    for feat in ("confidence", "entropy", "m_entropy", "prob"):
        timed(f"mia_efficacy[{feat}]", lambda f=feat: mia_efficacy_from_probs(*ret, *test, *fgt, feature=f))
    timed("scar_mia CR (5 repeats)", lambda: scar_mia_from_probs(fgt[0], test[0][:36], mode="CR")["acc"])
    timed("scar_mia HR (5 repeats)", lambda: scar_mia_from_probs(fgt[0], test[0], mode="HR")["acc"])
    feats = rng.normal(size=(n_test, 64))
    timed("knn_transfer_accuracy", lambda: knn_transfer_accuracy(feats, rng.integers(0, c, n_test)))
    timed(
        "linear_cka 1437x512", lambda: linear_cka(rng.normal(size=(1437, 512)), rng.normal(size=(1437, 512)))
    )
    timed(
        "ulira 8+8 shadows",
        lambda: ulira_evaluate(rng.normal(size=(8, n_forget)), rng.normal(size=(8, n_forget)))["auc"],
    )


if __name__ == "__main__":
    main()

"""Benchmark Prototype Surgery: time and peak memory of Naive PS and PS against retraining.

Two parts, both offline:

1. ``digits``: the DIGITS preset end to end (LeNet-5 original, 10% of class 1 forgotten): unlearning wall
   time and peak memory of Naive PS and PS (early stop and the paper's full schedule) against retraining
   from scratch on the retain set. Target: >= 20x faster than retrain.
2. ``scaling``: Naive PS's closed form on synthetic features with growing N, showing that the least-squares
   path grows linearly in memory (an N x N matrix would be quadratic).

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_ps_unlearn.py            # both parts
    .venv/bin/python tools/bench_ps_unlearn.py --part scaling --sizes 10000,100000 --dim 64
    .venv/bin/python tools/bench_ps_unlearn.py --part digits --device cuda --out-dir runs/bench-ps
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table
from unlearnkit.ps_unlearn.decomposition import naive_ps_weight, resolve_solver
from unlearnkit.ps_unlearn.experiment import ExperimentOptions, run_experiment
from unlearnkit.shared.metrics import RTEMeter

console = Console()


def bench_digits(out_dir: str, device: str, seed: int) -> None:
    opts = ExperimentOptions(out_dir=out_dir, device=device, seed=seed, overwrite=True, progress=False)
    rows = dict(run_experiment(opts).results["methods"])
    paper = ExperimentOptions(**{**opts.__dict__, "stop_at": "none"})
    rows["ps (stop none)"] = run_experiment(paper, ["ps"]).results["methods"]["ps"]
    retrain_s = rows["retrain"]["seconds"]
    table = Table(title=f"DIGITS, LeNet-5, {device}: unlearning cost vs retraining")
    for col in ("method", "seconds", "peak MiB", "x faster than retrain", "forget%", "test%"):
        table.add_column(col, justify="right")
    for name, row in rows.items():
        sec = row.get("seconds", float("nan"))
        speed = "-" if name in ("original", "retrain") else f"{retrain_s / sec:.0f}x"
        peak = row.get("peak_mem_mb")
        table.add_row(
            name,
            "-" if name == "original" else f"{sec:.3f}",
            "-" if peak is None else f"{peak:.1f}",
            speed,
            f"{row['forget_acc']:.1f}",
            f"{row['TA']:.2f}",
        )
    console.print(table)
    worst = max(rows[m]["seconds"] for m in ("naive_ps", "ps", "ps (stop none)"))
    verdict = "OK" if retrain_s / worst >= 20 else "BELOW TARGET"
    console.print(
        f"slowest PS variant is {retrain_s / worst:.0f}x faster than retrain (target >= 20x): {verdict}"
    )


def bench_scaling(sizes: list[int], dim: int, classes: int) -> None:
    table = Table(title=f"Naive PS closed form, d = {dim}, {classes} classes (CPU, float64)")
    for col in ("N", "solver", "seconds", "peak MiB", "F MiB", "N x N would be MiB"):
        table.add_column(col, justify="right")
    rng = np.random.default_rng(0)
    for n in sizes:
        feats = np.abs(rng.normal(size=(n, dim)))
        w_init = rng.normal(size=(classes, dim))
        w_orig = w_init + rng.normal(size=(classes, dim))
        forget = rng.choice(n, size=max(1, n // 100), replace=False)
        with RTEMeter("cpu") as meter:
            naive_ps_weight(w_orig, w_init, feats, forget)
        table.add_row(
            f"{n:,}",
            resolve_solver("auto", n, dim),
            f"{meter.seconds:.3f}",
            f"{meter.peak_mem_mb:.0f}",
            f"{feats.nbytes / 2**20:.0f}",
            f"{n * n * 8 / 2**20:,.0f}",
        )
    console.print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("all", "digits", "scaling"), default="all")
    ap.add_argument("--out-dir", default=None, help="keep the digits models here (default: a temp folder)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=209)
    ap.add_argument("--sizes", default="2000,20000,100000", help="N values for the scaling part")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.part in ("all", "digits"):
        with tempfile.TemporaryDirectory() as tmp:
            bench_digits(args.out_dir or tmp, args.device, args.seed)
    if args.part in ("all", "scaling"):
        bench_scaling([int(s) for s in args.sizes.split(",")], args.dim, args.classes)
    console.print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()

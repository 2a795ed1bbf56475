"""Benchmark SCAR / SCAR_self against retraining on one digits class-removal request (offline, CPU).

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_scar.py [--cls 3] [--seeds 0]

Prints, per variant: forget-train / forget-test / retain-test accuracy, AUS, unlearning seconds and the
speed-up over retraining on the same request (retrain = the original's model and recipe, retain set only).
Nothing is asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from unlearnkit.scar.algorithm import scar, scar_self
from unlearnkit.scar.evaluation import scar_report
from unlearnkit.scar.params import ScarParams
from unlearnkit.scar.presets import apply_preset
from unlearnkit.scar.surrogate import SurrogateSpec, build_surrogate
from unlearnkit.scar.workflow import train_original
from unlearnkit.shared.data import ForgetRequest
from unlearnkit.shared.train import TrainConfig
from unlearnkit.shared.workflows import load_checkpoint_for, load_data, splits_for, train_model

VARIANTS = {
    "SCAR (photos, stats surrogate)": ("scar", {}),
    "SCAR (photos, stats retain)": ("scar", {"stats_from": "retain"}),
    "SCAR (noise, stats surrogate)": ("scar", {"surrogate": "noise"}),
    "SCAR (photos, BN not frozen)": ("scar", {"freeze_bn": False}),
    "SCAR_self (photos)": ("scar_self", {}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cls", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="lenet5")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="bench_scar_"))
    train_original("digits", tmp / "original.pt", model=args.model, seed=args.seed)
    original, meta = load_checkpoint_for(tmp / "original.pt")
    data = load_data("digits")
    req = ForgetRequest.for_classes(data.train, [args.cls])
    splits = splits_for(req, data)
    t0 = time.perf_counter()
    retrained, _, _ = train_model(data, args.model, TrainConfig.from_dict({**meta["train_config"], "seed": args.seed}),
                                  tmp / "retrain.pt", request=req)
    retrain_s = time.perf_counter() - t0
    a_or = scar_report(original, splits, "CR", a_or=100, mia=False)["acc_retain_test"]
    rows = [("original", scar_report(original, splits, "CR", a_or=a_or, mia=False), None),
            ("retrain", scar_report(retrained, splits, "CR", a_or=a_or, mia=False), retrain_s)]
    for name, (method, overrides) in VARIANTS.items():
        params = apply_preset(ScarParams(seed=args.seed, **overrides), "digits")
        surrogate = build_surrogate(SurrogateSpec(params.surrogate, quantity=params.surrogate_quantity,
                                                  seed=args.seed), data.train.info)
        model = copy.deepcopy(original)
        frozen = copy.deepcopy(original).eval()
        t0 = time.perf_counter()
        if method == "scar":
            scar(model, original=frozen, forget=splits.forget, surrogate=surrogate, mode="CR",
                 forget_classes=[args.cls], num_classes=10, target=0.01, params=params, retain=splits.retain)
        else:
            scar_self(model, original=frozen, surrogate=surrogate, forget_classes=[args.cls], num_classes=10,
                      params=params)
        rows.append((name, scar_report(model, splits, "CR", a_or=a_or, mia=False), time.perf_counter() - t0))
    table = Table(title=f"digits CR, class {args.cls}, {args.model}, seed {args.seed} (CPU, 1 thread)")
    for col in ("model", "forget train", "forget test", "retain test", "AUS", "seconds", "speed-up"):
        table.add_column(col, justify="right")
    for name, r, s in rows:
        table.add_row(name, f"{r['acc_forget_train']:.2f}", f"{r['acc_forget_test']:.2f}",
                      f"{r['acc_retain_test']:.2f}", f"{r['AUS']:.3f}", "-" if s is None else f"{s:.1f}",
                      "-" if s is None or name == "retrain" else f"{retrain_s / s:.1f}x")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()

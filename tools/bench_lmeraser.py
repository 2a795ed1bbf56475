"""LMEraser erase cost versus a full retrain, on the embedded default (digits, small ViT).

For each number of clusters: train every cluster once (the full retrain cost), then erase 1, 10 and 100
random private samples (each from the trained model) and print the wall time, the ratio to the full
retrain, the clusters touched, and the test accuracy before/after.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_lmeraser.py --clusters 64 128 256
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import torch
from unlearnkit.lmeraser import engine
from unlearnkit.lmeraser.api import test_accuracy
from unlearnkit.lmeraser.config import LMEraserConfig
from unlearnkit.lmeraser.pipeline import prepare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clusters", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--erase", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--base-dir", default="data")
    ap.add_argument("--backbone", default="embedded")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    prep = prepare(dataset=args.dataset, base_dir=args.base_dir, backbone=args.backbone, device=args.device)
    base = LMEraserConfig(seed=args.seed)
    rng = np.random.RandomState(args.seed)
    print(f"{args.dataset}: {len(prep.private_ids)} private, {len(prep.public_ids)} public samples; "
          f"backbone {args.backbone}; device {args.device}, {args.threads} thread(s)")
    header = f"{'clusters':>8} {'erased':>6} {'touched':>7} {'retrained':>9} {'erase s':>8} {'full s':>7} " \
             f"{'ratio':>6} {'speed-up':>8} {'acc before':>10} {'acc after':>9}"
    print(header)
    rows = []
    for k in args.clusters:
        cfg = dataclasses.replace(base, num_clusters=k)
        state = engine.train(cfg, prep.backbone, prep.store, prep.public_ids, prep.private_ids,
                             num_classes=prep.num_classes, image_size=prep.spec.image_size,
                             in_chans=prep.spec.in_chans, device=args.device)
        acc = test_accuracy(state, prep, args.device)
        for n in args.erase:
            ids = rng.choice(state.private_ids, size=min(n, len(state.private_ids)), replace=False)
            new, rec = engine.erase(state, ids, prep.backbone, prep.store, device=args.device)
            acc_after = test_accuracy(new, prep, args.device)
            row = {"clusters": state.partition.num_clusters, "erased": n,
                   "touched": len(rec["affected_clusters"]), "retrained_samples": rec["retrained_samples"],
                   "erase_seconds": rec["erase_seconds"], "full_seconds": state.full_train_seconds,
                   "ratio": rec["cost_ratio"], "acc_before": acc, "acc_after": acc_after}
            rows.append(row)
            print(f"{row['clusters']:>8} {n:>6} {row['touched']:>7} {row['retrained_samples']:>9} "
                  f"{row['erase_seconds']:>8.2f} {row['full_seconds']:>7.2f} {row['ratio']:>6.3f} "
                  f"{1 / row['ratio']:>7.1f}x {acc:>10.2f} {acc_after:>9.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()

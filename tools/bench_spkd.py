"""Benchmark: SPKD's unlearning time against retraining from scratch, on the same forget request.

Prints one table (method, RTE seconds, peak memory, speed-up vs retrain, UA, RA, k-NN, CKA). Not a test:
timings depend on the machine, so nothing is asserted.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_spkd.py                   # digits / LeNet-5, CPU
    .venv/bin/python tools/bench_spkd.py --arch resnet18 --device cuda --image-size 64 --in-chans 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from unlearnkit.shared.data import ForgetRequest, make_splits
from unlearnkit.shared.evaluation import evaluate_unlearning
from unlearnkit.shared.methods import UnlearnContext, get_method, run_method
from unlearnkit.shared.workflows import default_config, load_data, resolve_device, train_model
from unlearnkit.spkd_transfer.classlists import resolve_classes
from unlearnkit.spkd_transfer.transfer import cka_to_reference, knn_transfer
from unlearnkit.spkd_transfer.workflows import model_kwargs_for


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--arch", default="lenet5")
    ap.add_argument("--classes", default="random2", help="ids, randomN or a list file")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--image-size", type=int, default=None, help="resize the data (e.g. 224 for resnet50)")
    ap.add_argument("--in-chans", type=int, default=None)
    ap.add_argument("--imagenet-arch", action="store_true")
    ap.add_argument("--train-epochs", type=int, default=None, help="original's epochs (default: recipe)")
    ap.add_argument("--methods", default="retrain,spkd,ga", help="comma-separated; retrain is the reference")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)

    data = load_data(args.dataset, image_size=args.image_size, in_chans=args.in_chans)
    cfg = default_config(args.dataset, epochs=args.train_epochs, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        original, meta, _ = train_model(data, args.arch, cfg, Path(tmp) / "original.pt", device=str(device),
                                        progress=False, model_kwargs=model_kwargs_for(args.arch, args.imagenet_arch))
        train_s = time.perf_counter() - t0
    classes = resolve_classes(args.classes, data.train.info.num_classes)
    req = ForgetRequest.for_classes(data.train, classes)
    splits = make_splits(req, data.train, data.test)
    ctx = UnlearnContext.from_splits(splits, req, original, device=device, seed=args.seed,
                                     meta={k: v for k, v in meta.items() if k != "history"}, progress=False)

    results = {}
    for name in [m.strip() for m in args.methods.split(",") if m.strip()]:
        spec = get_method(name)
        model, rte = run_method(name, original, ctx, params=spec.make_params({}))
        results[name] = (model, rte, evaluate_unlearning(model, splits, device, mia=False))
    ref = results.get("retrain", (None,))[0]
    down = data.test
    table = Table(title=f"{args.dataset}/{args.arch} on {device}, forget classes {classes} "
                        f"(original trained in {train_s:.1f}s, {cfg.epochs} epochs)")
    for col in ("method", "RTE s", "peak MiB", "× faster than retrain", "UA", "RA", "kNN", "CKA"):
        table.add_column(col, justify="right" if col != "method" else "left")
    base = results["retrain"][1]["seconds"] if "retrain" in results else float("nan")
    for name, (model, rte, m) in results.items():
        knn = knn_transfer(model, down, device=device)
        cka = cka_to_reference(model, ref, down, device=device)["mean"] if ref is not None else float("nan")
        table.add_row(name, f"{rte['seconds']:.2f}", f"{rte['peak_mem_mb']:.0f}", f"{base / rte['seconds']:.2f}",
                      f"{m['UA']:.2f}", f"{m['RA']:.2f}", f"{knn:.2f}", f"{cka:.2f}")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()

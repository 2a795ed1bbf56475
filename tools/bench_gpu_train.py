"""Training throughput of unlearnkit's ``fit`` against a bare PyTorch loop on the same device and data.

    python3 tools/bench_gpu_train.py --device cuda [--json out.json]       # resnet18 on synthetic-cifar10
    python3 tools/bench_gpu_train.py --device cpu --tiny                   # seconds, for the test suite

Both loops train the same initial model (CIFAR-stem ResNet-18 at 32 px by default) with SGD, bf16 autocast
and channels_last on CUDA, batch 512, on the same images already in device memory; the bare loop is the
idiomatic fast loop (a randperm per epoch, index-select batches, no DataLoader). The first epoch of each is
a warm-up (cuDNN autotuning) and is not timed. The ratio fit / bare is the overhead of the shared loop;
goal on one H100: >= 25,000 images/s and >= 0.95 (issue 15, item 4). ``fit`` is also timed on the augmented
data set (random crop + flip on the GPU), which is what a real CIFAR run uses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch
import torch.nn.functional as F
from unlearnkit.shared.data import LabeledDataset, TensorImages, load_dataset
from unlearnkit.shared.data.device_loader import device_tensors
from unlearnkit.shared.models import create_model
from unlearnkit.shared.train import TrainConfig, fit

GOAL_IMAGES_PER_S = 25_000
GOAL_RATIO = 0.95


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(args) -> torch.nn.Module:
    torch.manual_seed(0)
    kw = {"stem": "cifar"} if args.model in ("resnet18", "resnet50") else {}
    return create_model(args.model, 10, in_chans=3, **kw)


def bare_loop(model, images, targets, cfg: TrainConfig, device: torch.device) -> list[float]:
    """Seconds per epoch of the plainest fast loop: data on the device, a randperm, index_select."""
    model.to(device)
    conv = device.type == "cuda"
    if conv:
        model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    n, bs = len(images), cfg.batch_size
    seconds = []
    for _ in range(cfg.epochs):
        sync(device)
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, device=device)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            x = images.index_select(0, idx)
            if conv:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=conv):
                loss = F.cross_entropy(model(x), targets.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        loss.item()
        sync(device)
        seconds.append(time.perf_counter() - t0)
    return seconds


def timed(n: int, seconds: list[float]) -> float:
    """Images/s over the epochs after the first (all of them when there is only one)."""
    s = seconds[1:] or seconds
    return n * len(s) / sum(s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--data", default="synthetic-cifar10")
    ap.add_argument("--train-size", type=int, default=None, help="first N training images (default: all)")
    ap.add_argument("--epochs", type=int, default=3, help="per run, the first is an untimed warm-up")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--tiny", action="store_true", help="lenet5, 256 images, batch 64, 2 epochs (CPU smoke run)")
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()
    if args.tiny:
        args.model, args.train_size, args.batch_size, args.epochs = "lenet5", args.train_size or 256, 64, 2
    device = torch.device(args.device)

    full = load_dataset(args.data, "train")
    n = min(len(full), args.train_size or len(full))
    data = full.subset(range(n))
    t0 = time.perf_counter()
    images, targets, _ = device_tensors(data)  # drawn once; both loops then read the same tensors
    prepare_s = time.perf_counter() - t0
    resident = LabeledDataset(TensorImages(images, targets.numpy()), targets.numpy(), data.info)
    images, targets = images.to(device), targets.to(device)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=0.05, schedule="constant", amp=True)

    fit_s = fit(build(args), resident, cfg, device=device, progress=False).history
    bare_s = bare_loop(build(args), images, targets, cfg, device)
    t0 = time.perf_counter()
    aug = load_dataset(args.data, "train", augment=True).subset(range(n))
    aug_hist = fit(build(args), aug, cfg, device=device, progress=False).history
    aug_total = time.perf_counter() - t0

    fit_ips = timed(n, [h["seconds"] for h in fit_s])
    bare_ips = timed(n, bare_s)
    aug_ips = timed(n, [h["seconds"] for h in aug_hist])
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    out = {
        "model": args.model, "data": args.data, "images": n, "batch_size": args.batch_size, "epochs": args.epochs,
        "device": str(device), "device_name": name, "torch": torch.__version__, "amp_bf16": device.type == "cuda",
        "fit_images_per_s": round(fit_ips, 1), "bare_images_per_s": round(bare_ips, 1),
        "ratio": round(fit_ips / bare_ips, 4), "fit_augmented_images_per_s": round(aug_ips, 1),
        "fit_augmented_total_s": round(aug_total, 2), "draw_images_s": round(prepare_s, 2),
        "fit_loss": [round(h["loss"], 4) for h in fit_s], "fit_augmented_loss": [round(h["loss"], 4) for h in aug_hist],
        "goal_images_per_s": GOAL_IMAGES_PER_S, "goal_ratio": GOAL_RATIO,
        "meets_goal": (device.type == "cuda" and fit_ips >= GOAL_IMAGES_PER_S and fit_ips / bare_ips >= GOAL_RATIO),
        "threads": torch.get_num_threads(), "device_data": os.environ.get("UNLEARNKIT_DEVICE_DATA", "auto"),
    }
    print(f"{args.model} on {args.data} ({n} images, batch {args.batch_size}, {args.epochs} epochs, first untimed) "
          f"on {name}")
    print(f"bare PyTorch loop      : {bare_ips:10.0f} images/s")
    print(f"unlearnkit fit         : {fit_ips:10.0f} images/s   ratio {fit_ips / bare_ips:.3f} (goal >= {GOAL_RATIO})")
    print(f"fit, GPU crop + flip   : {aug_ips:10.0f} images/s   (goal >= {GOAL_IMAGES_PER_S} on one H100)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()

"""Throughput of unlearnkit's training loop against a bare PyTorch loop on the same model and data.

    uv run python tools/bench_train.py [--model lenet5] [--epochs 5] [--repeats 3]

Both loops use the same DataLoader settings, optimiser and batch size; the ratio (ours / bare) is the
overhead of the shared loop (progress, masks, checkpoints off). Target: >= 0.95.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from unlearnkit.shared.data import load_dataset, make_loader
from unlearnkit.shared.models import create_model
from unlearnkit.shared.train import TrainConfig, fit


def bare_loop(model, data, cfg: TrainConfig) -> float:
    loader = make_loader(data, cfg.batch_size, shuffle=True, seed=cfg.seed)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        loader.sampler.set_epoch(epoch)
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


def ours(model, data, cfg: TrainConfig) -> float:
    return fit(model, data, cfg, progress=False).seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="lenet5")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    data = load_dataset("digits")
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=0.05, schedule="constant")
    images = len(data) * args.epochs
    bare, mine = [], []
    for _ in range(args.repeats):  # interleaved so machine noise hits both alike
        torch.manual_seed(0)
        bare.append(images / bare_loop(create_model(args.model, 10, in_chans=1), data, cfg))
        torch.manual_seed(0)
        mine.append(images / ours(create_model(args.model, 10, in_chans=1), data, cfg))
    b, m = statistics.median(bare), statistics.median(mine)
    print(f"model {args.model}, digits {len(data)} images x {args.epochs} epochs, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"bare PyTorch loop : {b:9.0f} images/s")
    print(f"unlearnkit fit    : {m:9.0f} images/s")
    print(f"ratio             : {m / b:9.3f}  (target >= 0.95)")


if __name__ == "__main__":
    main()

"""Training one cluster's prompt and head.

:func:`train_cluster` is a pure function of (run seed, cluster id, the members' ids and data, the config):
the initial prompt and head come from a generator seeded by (seed, cluster id), the data order of every
epoch from a generator seeded by (seed, cluster id, epoch) over the *sorted* member ids, and the model
selection uses the cluster's public validation samples only. Nothing reads global RNG state or another
cluster's data. That purity is what makes erase exact: retraining a cluster on its remaining members gives
bit for bit the result that training without the erased samples would have given (on CPU; on GPU up to
the non-determinism of the kernels).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .frozen import FrozenBackbone
from .prompters import build_prompter
from .seeding import make_generator
from .store import SampleStore

__all__ = ["ClusterTrainConfig", "ClusterResult", "PromptedHead", "init_cluster", "train_cluster", "lr_at"]


@dataclass(frozen=True)
class ClusterTrainConfig:
    """Per-cluster optimisation (the paper: SGD momentum 0.9, warm-up then cosine)."""

    num_classes: int
    image_size: int
    in_chans: int
    prompt_pixels: int
    prompter: str = "pad"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1.0
    momentum: float = 0.9
    weight_decay: float = 0.0
    warmup_epochs: int = 1
    init_std: float = 0.01
    keep_best: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PromptedHead(nn.Module):
    """One cluster's trainable part: a prompt on the backbone's input and a linear head on its features."""

    def __init__(self, prompter: nn.Module, head: nn.Linear):
        super().__init__()
        self.prompter = prompter
        self.head = head

    def logits(self, backbone: FrozenBackbone, x: torch.Tensor) -> torch.Tensor:
        return self.head(backbone.embed(self.prompter(backbone.prepare(x))))


@dataclass
class ClusterResult:
    cluster: int
    state: dict[str, torch.Tensor]  # PromptedHead.state_dict(), on the CPU
    num_members: int
    best_epoch: int  # -1: never trained (no members) or last epoch kept without validation
    best_val_acc: float
    seconds: float
    losses: list[float]

    def to_record(self) -> dict[str, Any]:
        """Checkpoint form: tensors and plain values only (loadable with ``weights_only=True``)."""
        return {
            "cluster": self.cluster, "state": self.state, "num_members": self.num_members,
            "best_epoch": self.best_epoch, "best_val_acc": self.best_val_acc, "seconds": self.seconds,
            "losses": list(self.losses),
        }

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> ClusterResult:
        return cls(int(rec["cluster"]), dict(rec["state"]), int(rec["num_members"]), int(rec["best_epoch"]),
                   float(rec["best_val_acc"]), float(rec["seconds"]), [float(v) for v in rec["losses"]])


def init_cluster(cfg: ClusterTrainConfig, feature_dim: int, seed: int, cluster: int) -> PromptedHead:
    """The cluster's initial state: a function of (seed, cluster id) only."""
    g = make_generator(seed, "cluster", cluster, "init")
    prompter = build_prompter(cfg.prompter, cfg.image_size, cfg.prompt_pixels, cfg.in_chans,
                              generator=g, init_std=cfg.init_std)
    head = nn.Linear(feature_dim, cfg.num_classes)
    bound = 1.0 / math.sqrt(feature_dim)
    with torch.no_grad():
        head.weight.copy_(torch.rand(head.weight.shape, generator=g) * 2 * bound - bound)
        head.bias.copy_(torch.rand(head.bias.shape, generator=g) * 2 * bound - bound)
    if hasattr(prompter, "location_generator"):
        prompter.location_generator = make_generator(seed, "cluster", cluster, "locations")
    return PromptedHead(prompter, head)


def lr_at(step: int, total_steps: int, warmup_steps: int, base_lr: float) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * (step - warmup_steps) / span))


def _snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


@torch.no_grad()
def _accuracy(unit: PromptedHead, backbone: FrozenBackbone, store: SampleStore, ids: np.ndarray,
              batch_size: int, device: torch.device) -> float:
    unit.eval()
    correct = 0
    for start in range(0, len(ids), batch_size):
        x, y = store.batch(ids[start:start + batch_size])
        pred = unit.logits(backbone, x.to(device)).argmax(1).cpu()
        correct += int((pred == y).sum())
    unit.train()
    return 100.0 * correct / max(1, len(ids))


def train_cluster(
    backbone: FrozenBackbone,
    store: SampleStore,
    members: np.ndarray | list[int],
    cfg: ClusterTrainConfig,
    *,
    seed: int,
    cluster: int,
    val_ids: np.ndarray | list[int] | None = None,
    device: str | torch.device = "cpu",
) -> ClusterResult:
    """Train one cluster's prompt and head from their initial state on ``members`` (sample ids)."""
    device = torch.device(device)
    start_time = time.perf_counter()
    members = np.sort(np.asarray(members, dtype=np.int64))
    val_ids = np.sort(np.asarray([] if val_ids is None else val_ids, dtype=np.int64))
    feature_dim = backbone.feature_dim
    unit = init_cluster(cfg, feature_dim, seed, cluster).to(device)
    if len(members) == 0:  # an emptied cluster: it keeps its initial state and serves nobody
        return ClusterResult(cluster, _snapshot(unit), 0, -1, 0.0, time.perf_counter() - start_time, [])

    backbone.to(device)
    opt = torch.optim.SGD(unit.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(members) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warmup = steps_per_epoch * min(cfg.warmup_epochs, max(0, cfg.epochs - 1))
    use_val = cfg.keep_best and len(val_ids) > 0
    best_state, best_epoch, best_acc = None, -1, -1.0
    losses: list[float] = []
    step = 0
    unit.train()
    for epoch in range(cfg.epochs):
        order = members[torch.randperm(len(members), generator=make_generator(seed, "cluster", cluster, "order", epoch)).numpy()]
        total_loss = 0.0
        for start in range(0, len(order), cfg.batch_size):
            x, y = store.batch(order[start:start + cfg.batch_size])
            x, y = x.to(device), y.to(device)
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, warmup, cfg.lr)
            loss = nn.functional.cross_entropy(unit.logits(backbone, x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total_loss += float(loss.detach()) * len(y)
            step += 1
        losses.append(total_loss / len(members))
        if use_val:
            acc = _accuracy(unit, backbone, store, val_ids, max(cfg.batch_size, 64), device)
            if acc > best_acc:  # strictly better: ties keep the earliest epoch
                best_state, best_epoch, best_acc = _snapshot(unit), epoch, acc
    if best_state is None:
        best_state, best_epoch = _snapshot(unit), cfg.epochs - 1
    return ClusterResult(cluster, best_state, len(members), best_epoch, max(best_acc, 0.0),
                         time.perf_counter() - start_time, losses)

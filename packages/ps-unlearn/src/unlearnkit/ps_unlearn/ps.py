"""PS: relabel the forget samples with soft labels, then fine-tune only the final layer on them.

Starts from the original model and never touches the retain set, which is what makes it cheap. The model
stays in eval mode throughout (BatchNorm statistics frozen, as in the published code), and everything but
the chosen final-layer tensors has ``requires_grad`` off, so nothing else can move.

Because the backbone is frozen and in eval mode, the penultimate features of the forget samples do not
change during fine-tuning: by default they are computed once and the final layer is trained on them
(``cache_features``). This is the same optimisation problem, with the same batches, as running the whole
network each step (the published code's way, ``cache_features=False``), only much faster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.inference import extract_features
from unlearnkit.shared.progress import progress_bar

from .selection import TRAINABLE, classifier_of, freeze_all_but, select_trainable
from .soft_labels import soft_cross_entropy, soft_labels

__all__ = ["PSParams", "prototype_surgery"]


@dataclass
class PSParams:
    """PS fine-tuning settings; the defaults are the paper's MNIST ones (50 epochs, lr 0.01)."""

    epochs: int = 50
    lr: float = 0.01
    batch_size: int = 256
    trainable: str = "layer"
    weight_decay: float = 1e-4
    cache_features: bool = True
    seed: int = 0
    # stop once the forget accuracy is at or below this (percent); None runs every epoch
    target_forget_acc: float | None = None

    def check(self) -> None:
        if self.epochs < 1:
            raise UnlearnkitError(f"epochs must be >= 1, got {self.epochs}")
        if not self.lr > 0:
            raise UnlearnkitError(f"lr must be > 0, got {self.lr}")
        if self.batch_size < 1:
            raise UnlearnkitError(f"batch size must be >= 1, got {self.batch_size}")
        TRAINABLE.resolve(self.trainable)


class _Images(Dataset):
    """The forget images alone, in the forget set's order (labels come from the soft-label tensor)."""

    def __init__(self, data: Dataset):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.data[i][0]


def _labels_of(forget_set) -> torch.Tensor:
    targets = getattr(forget_set, "targets", None)
    if targets is None:
        targets = [int(forget_set[i][1]) for i in range(len(forget_set))]
    return torch.as_tensor(np.asarray(targets), dtype=torch.long)


def prototype_surgery(
    model: nn.Module,
    forget_set: Dataset,
    params: PSParams | None = None,
    *,
    device="cpu",
    progress: bool = False,
) -> dict:
    """Unlearn ``forget_set`` from ``model`` in place (``model`` must be the original model).

    Returns a small record: settings, number of samples, first and last epoch loss.
    """
    params = params or PSParams()
    params.check()
    if len(forget_set) == 0:
        raise UnlearnkitError("the forget set is empty")
    device = torch.device(device)
    model.to(device)
    head = classifier_of(model)

    feats, _ = extract_features(model, forget_set, device=device, batch_size=params.batch_size)
    feats = feats.to(device)
    with torch.no_grad():
        logits = head(feats)
    labels = _labels_of(forget_set).to(device)
    targets = soft_labels(logits, labels).float()

    chosen = select_trainable(model, params.trainable)
    grad_flags = [(p, p.requires_grad) for p in model.parameters()]
    freeze_all_but(model, chosen)
    optimizer = torch.optim.Adam(
        list(chosen.values()), lr=params.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=params.weight_decay
    )
    gen = torch.Generator().manual_seed(params.seed)
    n = len(forget_set)
    images = None if params.cache_features else _Images(forget_set)
    losses: list[float] = []
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with progress_bar("PS fine-tuning", params.epochs, enabled=progress) as advance:
            for _ in range(params.epochs):
                order = torch.randperm(n, generator=gen)
                total = 0.0
                for idx, x in _batches(order, params.batch_size, images, device):
                    out = head(feats[idx]) if x is None else model(x)
                    loss = soft_cross_entropy(out, targets[idx])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    total += float(loss.detach()) * len(idx)
                losses.append(total / n)
                advance()
                if (
                    params.target_forget_acc is not None
                    and _accuracy(head, feats, labels) <= params.target_forget_acc
                ):
                    break
    finally:
        for m, was_training in modes:
            m.training = was_training
        for p, flag in grad_flags:
            p.requires_grad_(flag)
    return {
        **asdict(params),
        "num_forget": n,
        "epochs_run": len(losses),
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "forget_acc_after": _accuracy(head, feats, labels),
    }


def _accuracy(head: nn.Linear, feats: torch.Tensor, labels: torch.Tensor) -> float:
    """Forget accuracy from the cached features: valid because the backbone is frozen and in eval mode."""
    with torch.no_grad():
        return float((head(feats).argmax(1) == labels).float().mean()) * 100.0


def _batches(order: torch.Tensor, batch_size: int, images: Dataset | None, device):
    """Yield ``(positions, images or None)`` for one epoch in the order ``order``."""
    if images is None:
        for idx in order.split(batch_size):
            yield idx.to(device), None
        return
    loader = DataLoader(images, batch_size=batch_size, sampler=order.tolist(), num_workers=0)
    for idx, x in zip(order.split(batch_size), loader, strict=True):
        yield idx.to(device), x.to(device)

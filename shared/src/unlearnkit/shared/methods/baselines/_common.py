"""What the baselines share: SGD hyper-parameters, fresh models, cycling loaders and wrong labels.

Kept in one place so every baseline builds its optimiser, its random labels and its teachers the same way,
and the comparison between them is about the loss, not about incidental differences.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ...data.base import LabeledDataset
from ...data.loaders import make_loader
from ...models.factory import create_model
from ...train.config import TrainConfig
from ..base import UnlearnContext


@dataclass
class SGDParams:
    """SGD with momentum 0.9 and weight decay 5e-4, as SalUn / Unlearn-Sparse run every baseline.

    A constant learning rate: the unlearning runs are a few epochs long, a schedule would only shrink them.
    """

    epochs: int = 2
    batch_size: int = 64
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "constant"
    optimizer: str = "sgd"


def train_config(p: SGDParams, ctx: UnlearnContext, *, epochs: int | None = None, seed_offset: int = 0,
                 **overrides) -> TrainConfig:
    """The :class:`TrainConfig` a method's params stand for (seeded from the context)."""
    cfg = dict(epochs=p.epochs if epochs is None else epochs, batch_size=p.batch_size, lr=p.lr, optimizer=p.optimizer,
               momentum=p.momentum, weight_decay=p.weight_decay, schedule=p.schedule, seed=ctx.seed + seed_offset)
    cfg.update(overrides)
    return TrainConfig(**cfg)


def fit_kwargs(ctx: UnlearnContext) -> dict:
    return {"device": ctx.device, "progress": ctx.progress}


def model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def fresh_model(original: nn.Module, seed: int, pretrained: bool = False) -> nn.Module:
    """A model of the original's architecture, re-initialised from ``seed`` (or from the pretrained init).

    Built from ``model_config`` when the original has one, so the new model is what a checkpoint rebuilds;
    otherwise a copy whose layers are reset.
    """
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        config = getattr(original, "model_config", None)
        if config:
            return create_model(config["name"], config["num_classes"], in_chans=config.get("in_chans", 3),
                                pretrained=pretrained, **dict(config.get("kwargs") or {}))
        model = copy.deepcopy(original)
        for module in model.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        for p in model.parameters():
            p.requires_grad_(True)
        return model.train()
    finally:
        torch.random.set_rng_state(gen_state)


def cycle(dataset: Dataset, batch_size: int, seed: int) -> Iterator[tuple]:
    """Endless shuffled batches: a second data stream inside a step function (a new order every pass)."""
    loader = make_loader(dataset, batch_size, shuffle=True, seed=seed)
    epoch = 0
    while True:
        loader.sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def to_device(batch, device: torch.device) -> tuple:
    return tuple(t.to(device, non_blocking=True) if torch.is_tensor(t) else t for t in batch)


def random_wrong_labels(targets: np.ndarray, num_classes: int, seed: int) -> np.ndarray:
    """A uniformly random label different from the true one, per sample (shift by 1..C-1 modulo C)."""
    rng = np.random.default_rng(seed)
    shift = rng.integers(1, num_classes, size=len(targets))
    return (np.asarray(targets) + shift) % num_classes


def relabelled_forget(ctx: UnlearnContext) -> LabeledDataset:
    return ctx.forget.relabel(random_wrong_labels(ctx.forget.targets, ctx.num_classes, ctx.seed))


def kl_to_teacher(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher || student) on temperature-softened outputs, scaled by T^2 (Hinton et al.)."""
    t = temperature
    log_p_s = F.log_softmax(student_logits / t, dim=1)
    log_p_t = F.log_softmax(teacher_logits.detach() / t, dim=1)
    return F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * (t * t)


def summed_batch_gradients(model: nn.Module, data, device="cpu", batch_size: int = 64,
                           transform=None) -> tuple[dict[str, torch.Tensor], int]:
    """Sum over batches of ``transform(grad)`` of each batch's cross-entropy, per trainable parameter.

    Saliency (SalUn) and Fisher importances (SSD) both need it. Eval mode keeps BatchNorm statistics fixed,
    and ``torch.autograd.grad`` leaves the model's own ``.grad`` fields untouched. Returns ``(sums, batches)``.
    """
    from ...inference import iterate_batches

    device = torch.device(device)
    model.to(device)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    total = [torch.zeros_like(p) for _, p in named]
    batches = 0
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        for x, y in iterate_batches(data, batch_size):
            loss = F.cross_entropy(model(x.to(device)), y.to(device))
            grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
            for acc, g in zip(total, grads, strict=True):
                if g is not None:
                    acc += g if transform is None else transform(g)
            batches += 1
    finally:
        for m, was in modes:
            m.training = was
    return {n: t for (n, _), t in zip(named, total, strict=True)}, batches

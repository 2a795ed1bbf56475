"""Batched, gradient-free passes over a data set.

Every metric needs "run the model over this data and give me everything on the CPU". Doing it in one
place guarantees that metrics never leave a model in eval mode by accident (which would silently change
how a method trains afterwards) and never build autograd graphs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

__all__ = ["iterate_batches", "predict", "extract_features", "eval_mode", "run_model"]


def iterate_batches(data, batch_size: int = 256) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(x, y)`` tensor batches from a Dataset (wrapped in an unshuffled loader) or any iterable
    of batches such as a DataLoader, so callers accept both without caring which they got.

    Items beyond ``(x, y)`` (e.g. an index) are ignored; unlabelled items get the target -1.
    """
    if isinstance(data, Dataset) and not isinstance(data, DataLoader):
        loader: Iterable = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=0)
    else:
        loader = data
    for batch in loader:
        if isinstance(batch, list | tuple):
            x = batch[0]
            y = batch[1] if len(batch) > 1 else torch.full((len(x),), -1, dtype=torch.long)
        else:  # unlabelled data (e.g. a surrogate image set): targets are -1
            x, y = batch, torch.full((len(batch),), -1, dtype=torch.long)
        if not torch.is_tensor(y):
            y = torch.as_tensor(y)
        yield x, y


@contextmanager
def eval_mode(model: nn.Module):
    """Switch to eval mode and no-grad, then restore the per-module training flags.

    Restoring per module (not just the top-level flag) matters for methods that freeze BatchNorm layers
    while the rest of the network trains.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for m, was_training in modes:
            m.training = was_training


def run_model(
    fn: Callable[[torch.Tensor], torch.Tensor],
    model: nn.Module,
    data,
    device="cpu",
    batch_size: int = 256,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply ``fn`` to every input batch under :func:`eval_mode`; return the outputs and the targets
    concatenated on the CPU (float32 outputs, int64 targets)."""
    device = torch.device(device)
    model.to(device)
    outs: list[torch.Tensor] = []
    targets: list[torch.Tensor] = []
    with eval_mode(model):
        for x, y in iterate_batches(data, batch_size):
            out = fn(x.to(device, non_blocking=True))
            outs.append(out.detach().float().cpu())
            targets.append(y.detach().long().cpu().reshape(-1))
    if not outs:
        return torch.zeros(0, 0), torch.zeros(0, dtype=torch.long)
    return torch.cat(outs), torch.cat(targets)


def predict(model: nn.Module, data, device="cpu", batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``[N, C]`` and targets ``[N]`` on the CPU, in data order."""
    return run_model(model, model, data, device=device, batch_size=batch_size)


def extract_features(
    model: nn.Module, data, device="cpu", batch_size: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate features ``[N, d]`` (``model.features``; the forward output when a model has none,
    e.g. a bare backbone) and targets ``[N]`` on the CPU."""
    fn = getattr(model, "features", None)
    if not callable(fn):
        fn = model
    feats, targets = run_model(fn, model, data, device=device, batch_size=batch_size)
    # a conv trunk (torchvision's VGG ``features``) returns maps: flatten so callers always get [N, d]
    return (feats.flatten(1) if feats.ndim > 2 else feats), targets

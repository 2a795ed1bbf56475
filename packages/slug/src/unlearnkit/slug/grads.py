"""One pass of gradient accumulation over a data set, averaged, all-reduced, and saved as safetensors.

SLUG needs exactly two of these (forget and retain); saving them lets the layer selection and the step
search be rerun without touching the data again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ._core import UnlearnkitError, atomic_write_bytes
from .progress import progress_bar


@dataclass
class GradientResult:
    grads: dict[str, torch.Tensor]
    batches: int
    samples: int
    seconds: float


def _dist():
    """The core's distributed helpers when running under torchrun; None in a single process."""
    from unlearnkit.shared import distributed as d

    return d if d.is_distributed() else None


def compute_gradient(model: nn.Module, batches: Iterable, loss_fn: Callable, device: str | torch.device = "cpu",
                     description: str = "gradient", total: int | None = None) -> GradientResult:
    """Sum per-batch gradients over one pass, then divide by the number of batches (over all ranks).

    The model's own ``.grad`` buffers are used as accumulators (no per-step copies), and cleared again
    afterwards so the caller's model is left as it was found.
    """
    device = torch.device(device)
    model.to(device)
    was_training = model.training
    model.eval()  # CLIP has no dropout / batch norm by default; eval keeps any that a variant adds fixed
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    for p in params.values():
        p.grad = None
    n_batches = n_samples = 0
    start = time.perf_counter()
    with progress_bar(description, total=total) as advance:
        for images, texts in batches:
            loss = loss_fn(model, images.to(device), texts.to(device))
            loss.backward()
            n_batches += 1
            n_samples += len(images)
            advance(1)
    counts = torch.tensor([float(n_batches), float(n_samples)], device=device)
    dist = _dist()
    grads: dict[str, torch.Tensor] = {}
    for name, p in params.items():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        if dist is not None:
            g = dist.all_reduce_sum(g)
        grads[name] = g.detach()
        p.grad = None
    if dist is not None:
        counts = dist.all_reduce_sum(counts)
    n_batches, n_samples = int(counts[0].item()), int(counts[1].item())
    if n_batches == 0:
        raise UnlearnkitError(f"{description}: the data set is empty")
    grads = {k: (v / n_batches).float().cpu() for k, v in grads.items()}
    model.train(was_training)
    return GradientResult(grads, n_batches, n_samples, time.perf_counter() - start)


def save_gradients(path: str | Path, result: GradientResult, meta: dict | None = None) -> None:
    from safetensors.torch import save

    header = {"batches": str(result.batches), "samples": str(result.samples),
              "seconds": f"{result.seconds:.3f}", "meta": json.dumps(meta or {})}
    atomic_write_bytes(path, save({k: v.contiguous() for k, v in result.grads.items()}, metadata=header))


def load_gradients(path: str | Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise UnlearnkitError(f"gradient file {path} not found (run `slug grads` first)")
    try:
        return load_file(str(path))
    except Exception as exc:
        raise UnlearnkitError(f"{path} is not a safetensors gradient file ({exc})") from exc

"""The one training loop: original training, retraining, and every method that fine-tunes.

Methods differ in their loss (``step_fn``), their parameters and masks, never in the loop, so speed-ups,
AMP, DDP, checkpoints and resumption work for all of them at once.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset, DistributedSampler

from .. import distributed as dist
from ..checkpoint import partial_path, read_checkpoint, save_model
from ..data.loaders import EpochShuffleSampler, make_loader
from ..inference import predict
from ..io import append_jsonl
from .config import TrainConfig
from .optim import build_optimizer, build_scheduler
from .seeding import rng_state, seed_everything, set_rng_state

StepFn = Callable[[nn.Module, tuple], torch.Tensor]


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: int | None = None
    completed: bool = False  # every epoch of cfg.epochs ran (not stopped by on_epoch_end)


def cross_entropy_step(label_smoothing: float = 0.0) -> StepFn:
    def step(model: nn.Module, batch: tuple) -> torch.Tensor:
        x, y = batch[0], batch[1]
        return F.cross_entropy(model(x), y, label_smoothing=label_smoothing)

    return step


class GradMask:
    """Keeps masked-out weights exactly where they are.

    Zeroing gradients is not enough: weight decay and momentum would still move the weights. So after every
    optimiser step the frozen entries are written back from a copy taken at the start.
    """

    def __init__(self, model: nn.Module, mask: Mapping[str, torch.Tensor]):
        named = dict(model.named_parameters())
        unknown = [k for k in mask if k not in named]
        if unknown:
            raise KeyError(f"mask names unknown parameters, e.g. {unknown[0]}")
        self.items = []
        for name, m in mask.items():
            p = named[name]
            keep = m.to(p.device).bool()
            self.items.append((p, keep.to(p.dtype), keep, p.detach().clone()))

    def mask_grads(self) -> None:
        for p, fmask, _, _ in self.items:
            if p.grad is not None:
                p.grad.mul_(fmask)

    @torch.no_grad()
    def restore(self) -> None:
        for p, _, keep, frozen in self.items:
            p.copy_(torch.where(keep, p, frozen))


def _batches_per_rank(cfg: TrainConfig) -> int:
    ws = dist.world_size()
    if cfg.batch_size % ws:
        raise ValueError(f"batch size {cfg.batch_size} is not divisible by the world size {ws}")
    return cfg.batch_size // ws


def _auto_progress(progress: bool | None) -> bool:
    if progress is None:
        return sys.stderr.isatty() and dist.is_main()
    return progress and dist.is_main()


def fit(model: nn.Module, train_set: Dataset, cfg: TrainConfig, *, device: str | torch.device = "cpu",
        step_fn: StepFn | None = None, params: list[nn.Parameter] | None = None,
        eval_sets: Mapping[str, Dataset] | None = None, grad_mask: Mapping[str, torch.Tensor] | None = None,
        checkpoint_path: str | os.PathLike | None = None, resume: bool = False,
        log_path: str | os.PathLike | None = None, progress: bool | None = None, meta: dict | None = None,
        on_epoch_end: Callable[[int, nn.Module], bool | None] | None = None,
        description: str = "train") -> FitResult:
    """Train ``model`` in place on ``train_set`` for ``cfg.epochs`` epochs.

    The epoch's shuffling depends only on ``(cfg.seed, epoch)`` and the RNG state is checkpointed each epoch
    to ``checkpoint_path + ".partial"`` (never to ``checkpoint_path`` itself, which only a finished run may
    hold: see ``workflows.train_model``), so a run resumed from it reaches the same weights as an
    uninterrupted one. Under torchrun the
    model is wrapped in DDP and ``cfg.batch_size`` is the global batch. ``on_epoch_end`` may return True to stop.
    """
    device = torch.device(device)
    seed_everything(cfg.seed, cfg.deterministic)
    model.to(device)
    net = dist.wrap_ddp(model, device)
    opt = build_optimizer(params if params is not None else model.parameters(), cfg)
    sched = build_scheduler(opt, cfg)
    mask = GradMask(model, grad_mask) if grad_mask else None
    step = step_fn or cross_entropy_step(cfg.label_smoothing)

    if dist.is_distributed():
        sampler = DistributedSampler(train_set, shuffle=True, seed=cfg.seed, drop_last=False)
    else:
        sampler = EpochShuffleSampler(train_set, cfg.seed)
    loader = make_loader(train_set, _batches_per_rank(cfg), sampler=sampler, num_workers=cfg.num_workers,
                         pin_memory=device.type == "cuda")

    result = FitResult()
    start_epoch = 0
    partial = partial_path(checkpoint_path) if checkpoint_path is not None else None
    state = _resume_state(partial, cfg) if resume and partial is not None else None
    if state is not None:
        model.load_state_dict(state["state_dict"])
        train_state = state["train_state"]
        opt.load_state_dict(train_state["optimizer"])
        sched.load_state_dict(train_state["scheduler"])
        set_rng_state(train_state["rng"])
        start_epoch = int(train_state["epoch"]) + 1
        result.history = list(train_state.get("history", []))
        result.resumed_from = start_epoch

    amp = cfg.amp and device.type == "cuda"
    show = _auto_progress(progress)
    t0 = time.perf_counter()
    bar = _Bar(show, description, cfg.epochs, len(loader), start_epoch)
    with bar:
        for epoch in range(start_epoch, cfg.epochs):
            sampler.set_epoch(epoch)
            net.train()
            total = torch.zeros((), device=device)
            steps = 0
            e0 = time.perf_counter()
            for batch in loader:
                batch = tuple(t.to(device, non_blocking=True) if torch.is_tensor(t) else t for t in batch)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    loss = step(net, batch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if mask is not None:
                    mask.mask_grads()
                opt.step()
                if mask is not None:
                    mask.restore()
                total += loss.detach()
                steps += 1
                bar.advance()
            sched.step()
            mean_loss = dist.all_reduce_mean(total / max(1, steps)).item()
            record: dict[str, Any] = {"epoch": epoch, "loss": mean_loss, "lr": opt.param_groups[0]["lr"],
                                      "seconds": time.perf_counter() - e0}
            if eval_sets and dist.is_main():
                for name, data in eval_sets.items():
                    record[f"acc_{name}"] = evaluate(model, data, device)
            result.history.append(record)
            if log_path is not None and dist.is_main():
                append_jsonl(log_path, record)
            if partial is not None and dist.is_main():
                train_state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": rng_state(),
                               "epoch": epoch, "history": result.history}
                save_model(partial, model, meta={**(meta or {}), "train_config": cfg.to_dict(), "epoch": epoch,
                                                 "history": result.history, "complete": False},
                           train_state=train_state)
            bar.epoch_done(record)
            _test_delay()
            if on_epoch_end is not None and on_epoch_end(epoch, model):
                break
    dist.barrier()
    result.seconds = time.perf_counter() - t0
    result.completed = bool(result.history) and result.history[-1]["epoch"] == cfg.epochs - 1
    return result


def _resume_state(partial, cfg: TrainConfig) -> dict | None:
    """The killed run's checkpoint to continue from, or None to start afresh.

    Only ``P.partial`` is ever resumed; a finished ``P`` is the caller's business (see ``train_model``).
    This is the one place that decides whether a partial run may be continued: a check that the partial
    run's configuration matches ``cfg`` belongs here.
    """
    if not os.path.exists(partial):
        return None
    ckpt = read_checkpoint(partial)
    return ckpt if ckpt.get("train_state") is not None else None


def _test_delay() -> None:
    """Tests that kill a run mid-training slow each epoch down with UNLEARNKIT_EPOCH_DELAY (seconds)."""
    delay = os.environ.get("UNLEARNKIT_EPOCH_DELAY")
    if delay:
        time.sleep(float(delay))


def evaluate(model: nn.Module, data, device: str | torch.device = "cpu") -> float:
    """Top-1 accuracy in percent (eval mode, no gradients; the model's train/eval flags are restored)."""
    logits, targets = predict(model, data, device=device)
    if len(targets) == 0:
        return float("nan")
    return (logits.argmax(1) == targets).float().mean().item() * 100.0


class _Bar:
    """A rich progress bar over epochs and batches, or nothing when output is not a terminal."""

    def __init__(self, enabled: bool, description: str, epochs: int, batches: int, start: int):
        self.enabled = enabled
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=True)
            self.task = self.progress.add_task(description, total=epochs * batches, completed=start * batches,
                                               info="")

    def __enter__(self):
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.progress.stop()

    def advance(self) -> None:
        if self.enabled:
            self.progress.advance(self.task)

    def epoch_done(self, record: dict) -> None:
        if self.enabled:
            accs = " ".join(f"{k[4:]} {v:.1f}" for k, v in record.items() if k.startswith("acc_"))
            self.progress.update(self.task, info=f"ep {record['epoch'] + 1} loss {record['loss']:.3f} {accs}")

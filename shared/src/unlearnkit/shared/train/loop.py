"""The one training loop: original training, retraining, and every method that fine-tunes.

Methods differ in their loss (``step_fn``), their parameters and masks, never in the loop, so speed-ups,
AMP, DDP, checkpoints and resumption work for all of them at once.
"""

from __future__ import annotations

import math
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
from ..data.device_loader import device_loader_for
from ..data.loaders import EpochShuffleSampler, make_loader
from ..errors import UnlearnkitError
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
    already_complete: bool = False  # --resume found the finished run with the same configuration: nothing ran


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
        from ..progress import is_quiet

        return sys.stderr.isatty() and dist.is_main() and not is_quiet()
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
    On CUDA a tensor-backed data set that fits is batched on the GPU (``data.device_loader``) and conv nets
    run channels_last (restored to the default layout on return).
    """
    device = torch.device(device)
    seed_everything(cfg.seed, cfg.deterministic)
    model.to(device)
    channels_last = _wants_channels_last(model, device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if device.type == "cuda" and not cfg.deterministic:
        torch.backends.cudnn.benchmark = True
    net = dist.wrap_ddp(model, device)
    opt = build_optimizer(params if params is not None else model.parameters(), cfg)
    sched = build_scheduler(opt, cfg)
    mask = GradMask(model, grad_mask) if grad_mask else None
    step = step_fn or cross_entropy_step(cfg.label_smoothing)

    if dist.is_distributed():
        sampler = DistributedSampler(train_set, shuffle=True, seed=cfg.seed, drop_last=False)
    else:
        sampler = EpochShuffleSampler(train_set, cfg.seed)
    loader = device_loader_for(train_set, _batches_per_rank(cfg), sampler, device, channels_last=channels_last)
    if loader is None:
        loader = make_loader(train_set, _batches_per_rank(cfg), sampler=sampler, num_workers=cfg.num_workers,
                             pin_memory=device.type == "cuda")

    result = FitResult()
    start_epoch = 0
    partial = partial_path(checkpoint_path) if checkpoint_path is not None else None
    state = _resume_state(partial, cfg, model, meta) if resume and partial is not None else None
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
            if not math.isfinite(mean_loss):
                _discard_partial(partial, created=state is None)
                raise UnlearnkitError(f"training diverged: the loss became {mean_loss} in epoch {epoch + 1} "
                                      f"(lr {cfg.lr:g}); nothing was saved for this run, try a lower --lr")
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
    if channels_last:
        model.to(memory_format=torch.contiguous_format)
    result.seconds = time.perf_counter() - t0
    result.completed = bool(result.history) and result.history[-1]["epoch"] == cfg.epochs - 1
    return result


def _discard_partial(partial, created: bool) -> None:
    """A diverged run's resumable state is worthless; remove it when this run made it."""
    if created and partial is not None and dist.is_main() and os.path.exists(partial):
        os.unlink(partial)


def check_model_fits(model: nn.Module, data: Dataset, device: str | torch.device = "cpu") -> None:
    """One forward pass of one sample before any training, so that a model that cannot take the data's
    images (lenet5 on 224-pixel data) is one line, not a traceback a minute into the first epoch."""
    x = data[0][0]
    if not torch.is_tensor(x):
        return
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x.unsqueeze(0).to(device))
    except RuntimeError as err:
        name = getattr(model, "model_config", {}).get("name", type(model).__name__)
        first = " ".join(str(err).split("\n")[0].split())[:160]
        raise UnlearnkitError(f"model {name} does not fit the data's images of shape {tuple(x.shape)}: "
                              f"{first}") from None
    finally:
        model.train(was_training)


def _wants_channels_last(model: nn.Module, device: torch.device) -> bool:
    """Conv nets on CUDA (cuDNN's NHWC kernels are faster under bf16); a ViT's single patch-embedding
    conv does not make it a conv net."""
    return device.type == "cuda" and sum(isinstance(m, nn.Conv2d) for m in model.modules()) >= 2


def _resume_state(partial, cfg: TrainConfig, model: nn.Module, meta: dict | None) -> dict | None:
    """The killed run's checkpoint to continue from, or None to start afresh.

    Only ``P.partial`` is ever resumed; a finished ``P`` is the caller's business (see ``train_model``). A
    partial run is continued only when it is the same run (:func:`resume_mismatch`): resuming with another
    seed, learning rate, model or forget request would keep the old weights under the new labels.
    """
    if not os.path.exists(partial):
        return None
    ckpt = read_checkpoint(partial)
    if ckpt.get("train_state") is None:
        return None
    problem = resume_mismatch(ckpt, cfg, getattr(model, "model_config", None), meta)
    if problem:
        raise UnlearnkitError(f"cannot resume {partial}: {problem}; rerun with the same options, or without "
                              "--resume (and with --overwrite) to start afresh")
    return ckpt


# Settings that do not change what a run computes, so a resumed run may differ in them.
_RESUME_FREE = {"num_workers"}
_RUN_KEYS = ("dataset", "dataset_size", "request")


def resume_mismatch(ckpt: dict, cfg: TrainConfig, model_config: dict | None, meta: dict | None) -> str | None:
    """The first difference between a saved run (``ckpt``) and the run asked for, in words; None if the same.

    Compared: the model (name, classes, channels, constructor arguments), the data set and forget request
    (when ``meta`` names them) and every training setting (seed, lr, epochs, ...) except ``num_workers``.
    """
    saved_meta = ckpt.get("meta") or {}
    saved_model = ckpt.get("model_config") or {}
    if model_config is not None:
        for key in ("name", "num_classes", "in_chans", "kwargs"):
            a, b = saved_model.get(key, {} if key == "kwargs" else None), model_config.get(
                key, {} if key == "kwargs" else None)
            if a != b:
                return f"it was started with model {key} {a!r}, not {b!r}"
    for key in _RUN_KEYS:
        if meta is not None and key in meta and saved_meta.get(key) != meta[key]:
            what = "forget request" if key == "request" else key.replace("_", " ")
            return f"it was started for {what} {_short(saved_meta.get(key))}, not {_short(meta[key])}"
    saved_cfg = saved_meta.get("train_config") or {}
    for key, value in cfg.to_dict().items():
        if key in _RESUME_FREE:
            continue
        old = saved_cfg.get(key)
        if isinstance(old, list | tuple) or isinstance(value, list | tuple):
            old, value = list(old or []), list(value)
        if old != value:
            return f"it was started with {key} {old!r}, not {value!r}"
    return None


def _short(value) -> str:
    if value is None:
        return "none (the original model)"
    text = str(value)
    return text[:12] if len(text) == 64 else repr(value)


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

"""SPKD: forget by gradient ascent, then restore the representation by relational distillation.

Gradient ascent alone removes the forgotten classes fast but also wrecks the shared features that transfer
to other tasks. SPKD interleaves, every epoch, one ascent pass over the forget set (phase A) with one pass
over the retain set (phase B) that re-learns the retained classes with cross-entropy *and* pulls the
pairwise similarity structure of the penultimate features back to a frozen teacher's. The teacher is the
original model (it has the geometry we want to keep for everything but the forgotten classes) or, for the
ablation, the retrained model.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from unlearnkit.shared.data import make_loader
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.inference import eval_mode
from unlearnkit.shared.progress import progress_bar
from unlearnkit.shared.registry import Registry

from .losses import get_distill_loss

__all__ = ["PRESETS", "SPKDParams", "TEACHERS", "load_teacher", "params_from", "snapshot", "spkd_unlearn"]


@dataclass
class SPKDParams:
    """SPKD's knobs. Defaults suit the embedded digits data (like every shared baseline's defaults); the
    paper's ImageNet/ResNet-50 run is ``PRESETS["paper"]`` (15 epochs, lr 1e-5, no forget cap).

    ``epochs`` / ``lr`` are ``--epochs`` / ``--lr`` (the published ``--unlearn_epochs`` / ``--unlearn_lr``). The weights 10/10 on CE and the
    distillation loss are the published code's; ``forget_weight`` scales phase A (1 in the paper).
    ``forget_cap`` (0 = off, as in the paper) clamps each forget sample's cross-entropy before ascending
    it: a sample already misclassified that badly stops pulling. At the paper's lr 1e-5 the ascent never
    gets far enough for this to matter; at the learning rates a small model needs, an uncapped ascent blows
    the logits up within a few steps and the restore phase cannot undo it (see the package README).
    """

    epochs: int = 10
    lr: float = 0.005
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 128
    distill: str = "sp"
    teacher: str = "original"
    teacher_path: str = ""
    ce_weight: float = 10.0
    distill_weight: float = 10.0
    forget_weight: float = 1.0
    forget_cap: float = 3.0
    amp: bool = True
    num_workers: int = 0
    checkpoint_dir: str | None = None
    progress: bool = True

    def validate(self) -> SPKDParams:
        if self.epochs < 0 or self.batch_size < 2:
            raise UnlearnkitError("SPKD needs epochs >= 0 and batch size >= 2 (the loss compares samples)")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UnlearnkitError(f"SPKD learning rate must be positive, got {self.lr}")
        get_distill_loss(self.distill)
        TEACHERS.get(self.teacher)
        return self


# Named settings; explicit flags override them.
PRESETS: dict[str, dict] = {
    "digits": {},
    "paper": {"epochs": 15, "lr": 1e-5, "batch_size": 128, "forget_cap": 0.0},
}


def params_from(preset: str = "digits", **overrides) -> SPKDParams:
    """Params of a preset with ``overrides`` (None values ignored) on top."""
    if preset not in PRESETS:
        raise UnlearnkitError(f"unknown SPKD preset {preset!r}; choose from {', '.join(PRESETS)}")
    return SPKDParams(**{**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}})


# teacher(ctx, params) -> frozen nn.Module in eval mode
TEACHERS: Registry = Registry("SPKD teacher")


@TEACHERS.register("original")
def _original_teacher(ctx, params: SPKDParams) -> nn.Module:
    if getattr(ctx, "original", None) is None:
        raise UnlearnkitError("SPKD with teacher=original needs the original model in the unlearning context")
    return ctx.original


@TEACHERS.register("retrained")
def _retrained_teacher(ctx, params: SPKDParams) -> nn.Module:
    if not params.teacher_path:
        raise UnlearnkitError("teacher=retrained needs the retrained checkpoint: --teacher PATH")
    return load_teacher(params.teacher_path)


def load_teacher(path: str | Path) -> nn.Module:
    """A checkpoint written by the core's ``save_model`` (the retrained model), loaded frozen."""
    from unlearnkit.shared.checkpoint import load_model

    model, _meta = load_model(path)
    return _freeze(model)


def _freeze(model: nn.Module) -> nn.Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _autocast(device: torch.device, enabled: bool):
    # bf16 needs no loss scaler, so the ascent phase's sign flip cannot interact with scaling
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled and device.type == "cuda")


def _forget_phase(model, loader, opt, params, device, advance) -> float:
    total, n = 0.0, 0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(device, params.amp):
            ce = F.cross_entropy(model(x).float(), y, reduction="none")
            if params.forget_cap > 0:
                ce = ce.clamp(max=params.forget_cap)
            loss = -params.forget_weight * ce.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total, n = total + loss.item() * len(y), n + len(y)
        advance(phase="forget", loss=total / n)
    return total / max(n, 1)


def _restore_phase(model, teacher, loader, opt, params, device, advance) -> tuple[float, float]:
    distill = get_distill_loss(params.distill)
    ce_sum = kd_sum = 0.0
    n = 0
    for x, y in loader:
        if len(y) < 2:  # a relational loss over one sample is zero: skip the ragged last batch
            continue
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(device, params.amp):
            fs = model.features(x)
            logits = model.classifier(fs)
            with eval_mode(teacher):
                ft = teacher.features(x)
        ce = F.cross_entropy(logits.float(), y)
        kd = distill(fs.float(), ft.float())
        loss = params.ce_weight * ce + params.distill_weight * kd
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ce_sum, kd_sum, n = ce_sum + ce.item() * len(y), kd_sum + kd.item() * len(y), n + len(y)
        advance(phase="restore", ce=ce_sum / n, kd=kd_sum / n)
    return ce_sum / max(n, 1), kd_sum / max(n, 1)


def spkd_unlearn(model: nn.Module, ctx, params: SPKDParams | None = None, *, seed: int | None = None) -> nn.Module:
    """Unlearn ``ctx.forget`` from ``model`` in place (and return it); the teacher is never updated.

    ``ctx`` needs ``forget``, ``retain``, ``device`` and (for the original teacher) ``original``; the
    shared core's ``UnlearnContext`` has them. History per epoch lands in ``model.spkd_history``.
    """
    params = (params or SPKDParams()).validate()
    if getattr(ctx, "retain", None) is None or len(ctx.retain) == 0:
        raise UnlearnkitError("SPKD needs a non-empty retain set (its restore phase trains on it)")
    device = torch.device(getattr(ctx, "device", "cpu") or "cpu")
    seed = int(getattr(ctx, "seed", 0) if seed is None else seed)
    teacher = TEACHERS.get(params.teacher)(ctx, params)
    teacher.to(device)
    if teacher is model:
        raise UnlearnkitError("the SPKD teacher must be a separate frozen model, not the one being unlearned")
    model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=params.lr, momentum=params.momentum,
                          weight_decay=params.weight_decay)
    forget = make_loader(ctx.forget, params.batch_size, shuffle=True, seed=seed, num_workers=params.num_workers)
    retain = make_loader(ctx.retain, params.batch_size, shuffle=True, seed=seed + 1,
                         num_workers=params.num_workers)
    history = []
    steps = params.epochs * (len(forget) + len(retain))
    show = params.progress and getattr(ctx, "progress", None) is not False
    with progress_bar(f"SPKD ({params.distill})", steps, enabled=show) as advance:
        for epoch in range(params.epochs):
            for loader in (forget, retain):
                loader.sampler.set_epoch(epoch)
            model.train()
            ga = _forget_phase(model, forget, opt, params, device, advance)
            ce, kd = _restore_phase(model, teacher, retain, opt, params, device, advance)
            if not all(math.isfinite(v) for v in (ga, ce, kd)):
                raise UnlearnkitError(f"SPKD diverged at epoch {epoch + 1} (non-finite loss): lower --lr")
            history.append({"epoch": epoch + 1, "forget_loss": ga, "ce": ce, "distill": kd})
            _save_epoch(model, params, epoch + 1, history)
    model.spkd_history = history
    return model


def _save_epoch(model: nn.Module, params: SPKDParams, epoch: int, history: list) -> None:
    """A checkpoint after every epoch, as the published code keeps: pick the epoch whose UA/RA trade-off
    you want afterwards without re-running."""
    if not params.checkpoint_dir:
        return
    from unlearnkit.shared.checkpoint import save_model

    save_model(Path(params.checkpoint_dir) / f"spkd_epoch{epoch:03d}.pt", _unwrapped(model),
               meta={"method": "spkd", "epoch": epoch, "params": asdict(params), "history": history})


def _unwrapped(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """Deep copy of a state dict, for checking that a model (the teacher) was left untouched."""
    return copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})

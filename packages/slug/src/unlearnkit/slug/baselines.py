"""Baselines on CLIP (FT, GA, GA+FT, SalUn, SSD) with CLIP losses, for comparison with SLUG.

The core's methods take a classifier with a cross-entropy loss over labelled images; CLIP has neither
labels nor a classification head, so the baselines are re-expressed here with the two CLIP losses:
- FT: CLIP contrastive loss on retain pairs;
- GA: ascent on the forget pairs' image-caption agreement (the 1 - cos loss; contrastive loss within a
  forget batch is nearly constant because every caption names the same identity, so ascending it does
  little), i.e. the same objective as SLUG, trained iteratively;
- GA+FT: both at once; SalUn: GA+FT with gradients restricted to the top fraction of |forget gradient|
  (masked weights held exactly fixed); SSD: selective synaptic dampening from squared gradients, no training.
Paper defaults: AdamW lr 1e-7, batch 32, 10 epochs, weight decay 0.1 (for ViT-B-32; the demo uses a
larger lr for its small model and says so).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader

from ._core import UnlearnkitError
from .losses import clip_loss, forget_loss


@dataclass
class BaselineConfig:
    epochs: int = 10
    lr: float = 1e-7
    weight_decay: float = 0.1
    salun_fraction: float = 0.5
    ssd_alpha: float = 10.0
    ssd_lambda: float = 1.0
    check_every: int = 0  # steps between stop checks (0: once per epoch)
    max_steps: int | None = None
    max_seconds: float | None = None  # training-time budget (stop checks excluded)
    seed: int = 0

    def __post_init__(self):
        import math

        def bad(name: str, rule: str) -> UnlearnkitError:
            return UnlearnkitError(f"baseline parameter {name}={getattr(self, name)!r} is not allowed: {rule}")

        for name in ("epochs",):
            if not isinstance(self.epochs, int) or self.epochs < 1:
                raise bad(name, "must be an integer >= 1")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise bad("lr", "must be a finite number > 0")
        for name in ("weight_decay", "ssd_alpha", "ssd_lambda"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise bad(name, "must be a finite number >= 0")
        if not (0 < self.salun_fraction <= 1):
            raise bad("salun_fraction", "must be a fraction in (0, 1]")
        if self.check_every < 0 or self.seed < 0:
            raise bad("check_every" if self.check_every < 0 else "seed", "must be >= 0")
        if self.max_steps is not None and self.max_steps < 1:
            raise bad("max_steps", "must be >= 1")
        if self.max_seconds is not None and not (math.isfinite(self.max_seconds) and self.max_seconds > 0):
            raise bad("max_seconds", "must be a finite number > 0")


@dataclass
class BaselineResult:
    name: str
    seconds: float  # unlearning time only: stop checks are excluded
    steps: int
    stopped_early: bool
    history: list[dict] = field(default_factory=list)


def _loss_terms(name: str) -> tuple[bool, bool]:
    """(uses forget ascent, uses retain descent) per baseline."""
    return {"ft": (False, True), "ga": (True, False), "ga+ft": (True, True), "salun": (True, True)}[name]


def saliency_mask(g_forget: Mapping[str, torch.Tensor], fraction: float) -> dict[str, torch.Tensor]:
    """1 for the top ``fraction`` of |forget gradient| ranked over all parameters together (SalUn)."""
    flat = torch.cat([g.abs().flatten() for g in g_forget.values()])
    k = max(1, int(round(fraction * flat.numel())))
    thr = flat.kthvalue(flat.numel() - k + 1).values
    return {n: (g.abs() >= thr).float() for n, g in g_forget.items()}


def train_baseline(name: str, model: nn.Module, forget: DataLoader, retain: DataLoader, cfg: BaselineConfig,
                   *, g_forget: Mapping[str, torch.Tensor] | None = None, device="cpu",
                   stop: Callable[[nn.Module], dict] | None = None) -> BaselineResult:
    """Iterative baselines. ``stop(model) -> {"stop": bool, ...}`` is called every ``check_every`` steps
    (outside the timed region) so a run can end as soon as it reaches a target forget accuracy."""
    if name not in ("ft", "ga", "ga+ft", "salun"):
        raise UnlearnkitError(f"unknown iterative baseline {name!r}")
    use_forget, use_retain = _loss_terms(name)
    torch.manual_seed(cfg.seed)
    model.to(device).train()
    params = dict(model.named_parameters())
    mask = None
    if name == "salun":
        if g_forget is None:
            raise UnlearnkitError("SalUn needs the forget gradient (run `slug grads` first)")
        mask = {n: m.to(device) for n, m in saliency_mask(g_forget, cfg.salun_fraction).items() if n in params}
        frozen = {n: p.detach().clone() for n, p in params.items() if n in mask}
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(len(forget) if use_forget else 0, len(retain) if use_retain else 0)
    check_every = cfg.check_every or steps_per_epoch
    f_iter, r_iter = itertools.cycle(forget), itertools.cycle(retain)
    seconds, steps, history, stopped = 0.0, 0, [], False
    total = cfg.epochs * steps_per_epoch if cfg.max_steps is None else min(cfg.max_steps, cfg.epochs * steps_per_epoch)
    while steps < total and not stopped and (cfg.max_seconds is None or seconds < cfg.max_seconds):
        t0 = time.perf_counter()
        loss = torch.zeros((), device=device)
        if use_forget:
            x, t = next(f_iter)
            loss = loss - forget_loss(model, x.to(device), t.to(device))  # ascent
        if use_retain:
            x, t = next(r_iter)
            loss = loss + clip_loss(model, x.to(device), t.to(device))
        if not bool(torch.isfinite(loss.detach())):
            raise UnlearnkitError(f"the {name} loss became {float(loss.detach())} at step {steps + 1}; lower --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if mask is not None:
            for n, m in mask.items():
                if params[n].grad is not None:
                    params[n].grad.mul_(m)
        opt.step()
        if mask is not None:  # weight decay / Adam state must not move masked weights
            with torch.no_grad():
                for n, m in mask.items():
                    params[n].copy_(torch.where(m.bool(), params[n], frozen[n]))
        steps += 1
        seconds += time.perf_counter() - t0
        if stop is not None and steps % check_every == 0:
            info = stop(model)
            model.train()
            history.append({"step": steps, "seconds": seconds, **{k: v for k, v in info.items() if k != "stop"}})
            stopped = bool(info.get("stop"))
    model.eval()
    return BaselineResult(name, seconds, steps, stopped, history)


def ssd(model: nn.Module, fisher_forget: Mapping[str, torch.Tensor], fisher_full: Mapping[str, torch.Tensor],
        cfg: BaselineConfig) -> BaselineResult:
    """Selective synaptic dampening: where a weight matters alpha times more for the forget data than
    overall, shrink it by lambda * I_full / I_forget (never grow it)."""
    t0 = time.perf_counter()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n not in fisher_forget or n not in fisher_full:
                continue
            f, d = fisher_forget[n].to(p.device), fisher_full[n].to(p.device)
            sel = f > cfg.ssd_alpha * d
            beta = torch.clamp(cfg.ssd_lambda * d / f.clamp_min(1e-30), max=1.0)
            p.mul_(torch.where(sel, beta, torch.ones_like(beta)))
    return BaselineResult("ssd", time.perf_counter() - t0, 0, False)


def squared_gradients(model: nn.Module, loader: DataLoader, loss_fn: Callable, device="cpu") -> dict[str, torch.Tensor]:
    """Diagonal Fisher estimate (mean of squared batch gradients): SSD's importance."""
    model.to(device).eval()
    acc = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    n_b = 0
    for x, t in loader:
        model.zero_grad(set_to_none=True)
        loss_fn(model, x.to(device), t.to(device)).backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                acc[n] += p.grad.detach() ** 2
        n_b += 1
    model.zero_grad(set_to_none=True)
    if n_b == 0:
        raise UnlearnkitError("SSD: empty data set")
    return {n: (a / n_b).cpu() for n, a in acc.items()}


ITERATIVE = ("ft", "ga", "ga+ft", "salun")
ALL_BASELINES = (*ITERATIVE, "ssd")

"""The SCAR and SCAR_self unlearning loops.

SCAR alternates two pressures on a copy of the original model: a metric-learning term that drags each
forget sample's embedding into the Mahalanobis region of its nearest *other* class (chosen once, at the
start), and a distillation term that keeps the model's outputs equal to the original's on out-of-
distribution surrogate images, which repairs collateral damage without any retain image.

SCAR_self goes one step further in class removal: it never reads the forget set. Surrogate images that the
original model files under the forgotten class act as "pseudo-forget" samples.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.inference import predict

from .embeddings import embed, embed_and_predict
from .losses import DIVERGENCES, drop_forgotten_teacher, forget_loss, hr_class_weights
from .mahalanobis import distance_to_targets, select_targets, squared_mahalanobis
from .params import ScarParams
from .stats import ClassStatistics, fit_class_statistics
from .stopping import StopRule

__all__ = ["ScarResult", "SurrogateView", "scar", "scar_self", "class_statistics", "forget_targets"]

MODES = ("CR", "HR")


@dataclass
class ScarResult:
    """The unlearned model plus what happened: per-check history, whether the stop rule fired, timing."""

    model: nn.Module
    history: list[dict] = field(default_factory=list)
    epochs: int = 0
    steps: int = 0
    stopped: bool = False
    seconds: float = 0.0
    stats_classes: list[int] = field(default_factory=list)
    stats_counts: list[int] = field(default_factory=list)
    skipped_batches: int = 0


class _Indexed(Dataset):
    """Yield ``(x, y, position)`` so per-sample targets and teacher logits can be looked up by position."""

    def __init__(self, base: Dataset):
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        x, y = self.base[i][:2]
        return x, y, i


@dataclass
class SurrogateView:
    """The surrogate set with what the frozen original says about it, computed once."""

    data: Dataset
    embeddings: torch.Tensor  # (N, d) original-model features
    teacher_logits: torch.Tensor  # (N, C)

    @property
    def pseudo_labels(self) -> torch.Tensor:
        return self.teacher_logits.argmax(1)

    @classmethod
    def build(cls, original: nn.Module, data: Dataset, device, batch_size: int) -> SurrogateView:
        if len(data) == 0:
            raise UnlearnkitError("the surrogate set is empty")
        emb, logits = embed_and_predict(original, data, device, batch_size)
        return cls(data, emb, logits)


def class_statistics(
    params: ScarParams,
    *,
    original: nn.Module,
    view: SurrogateView,
    retain: Dataset | None,
    num_classes: int,
    exclude: Sequence[int],
    device,
    self_forget: bool = False,
) -> ClassStatistics:
    """Class means/precisions from the surrogate (labels = original's predictions) or the real retain set.

    ``params.shrinkage == "published"`` shrinks the covariance twice for SCAR and once for SCAR_self
    (``self_forget``), as the published code does; ``"single"`` shrinks once everywhere (the paper).
    """
    if params.stats_from == "surrogate":
        emb, labels = view.embeddings, view.pseudo_labels
    elif params.stats_from == "retain":
        if retain is None:
            raise UnlearnkitError("--stats-from retain needs the retain set")
        emb = embed(original, retain, device, params.bsize)
        labels = torch.as_tensor(np.asarray(retain.targets))
    else:
        raise UnlearnkitError(f"unknown --stats-from {params.stats_from!r}; choose surrogate or retain")
    return fit_class_statistics(
        emb, labels, num_classes=num_classes, exclude=exclude, delta=params.delta,
        gamma1=params.gamma1, gamma2=params.gamma2, min_count=params.min_class_count,
        shrink_times=2 if params.shrinkage == "published" and not self_forget else 1,
    ).to(device)


def forget_targets(embeddings: torch.Tensor, labels: torch.Tensor, stats: ClassStatistics) -> torch.Tensor:
    """The fixed target label of every sample (chosen once, with the original model's embeddings)."""
    out = []
    for chunk, lab in zip(embeddings.split(1024), labels.split(1024), strict=True):
        d = squared_mahalanobis(chunk.to(stats.means.device), stats)
        out.append(select_targets(d, lab.to(d.device), stats.labels).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def _optimiser(model: nn.Module, params: ScarParams):
    opt = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.wd)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(params.scheduler), gamma=0.5)
    return opt, sched


def _class_accuracy(model: nn.Module, data: Dataset, num_classes: int, device, batch_size: int):
    """Overall and per-class accuracy (fractions) on ``data``, in eval mode."""
    logits, y = predict(model, data, device=device, batch_size=batch_size)
    correct = (logits.argmax(1) == y).float()
    per_class = torch.zeros(num_classes).index_add_(0, y, correct)
    counts = torch.zeros(num_classes).index_add_(0, y, torch.ones_like(correct))
    per_class = torch.where(counts > 0, per_class / counts.clamp_min(1), torch.ones(num_classes))
    return float(correct.mean()) if len(correct) else 0.0, per_class


def _progress(enabled: bool, total: int, description: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    prog = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[info]}"), transient=True, disable=not enabled)
    return prog, prog.add_task(description, total=total, info="")


def _set_train_mode(model: nn.Module, freeze_bn: bool) -> None:
    """Train mode; with ``freeze_bn`` BatchNorm layers stay in eval mode (running statistics fixed).

    The published code trains in plain train mode, so BatchNorm's running statistics drift towards the
    out-of-distribution surrogate batches; freezing them keeps the real data's normalisation.
    """
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()


def _check_finite(loss: torch.Tensor, step: int, epoch: int) -> None:
    """A NaN/inf loss would silently turn every weight into NaN: stop in one line, nothing is written."""
    if not bool(torch.isfinite(loss.detach())):
        raise UnlearnkitError(f"the SCAR loss became {float(loss.detach())} at step {step + 1} (epoch {epoch + 1}); "
                              "lower --lr or --lambda-1, or check the model and data")


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def scar(
    model: nn.Module,
    *,
    original: nn.Module,
    forget: Dataset,
    surrogate: Dataset | SurrogateView,
    mode: str,
    forget_classes: Sequence[int],
    num_classes: int,
    target: float,
    params: ScarParams | None = None,
    retain: Dataset | None = None,
    device="cpu",
    progress: bool = False,
    hr_threshold: float = 0.8,
) -> ScarResult:
    """Unlearn ``forget`` from ``model`` (a copy of ``original``, modified in place).

    ``mode``: ``CR`` (class removal; ``forget_classes`` are dropped from the statistics and from the
    distillation) or ``HR`` (random removal; class-balanced distillation, accuracy-weighted forget loss).
    ``target``: stop once forget accuracy (fraction) falls below it (after ``params.min_epochs`` epochs).
    ``retain`` is read only with ``params.stats_from == "retain"``.
    """
    params = params or ScarParams()
    mode = mode.upper()
    if mode not in MODES:
        raise UnlearnkitError(f"unknown mode {mode!r}; choose CR or HR")
    if len(forget) == 0:
        raise UnlearnkitError("the forget set is empty")
    device = torch.device(device)
    torch.manual_seed(params.seed)
    divergence = DIVERGENCES.get(params.divergence)
    model.to(device)
    original.to(device).eval()
    view = surrogate if isinstance(surrogate, SurrogateView) else SurrogateView.build(
        original, surrogate, device, params.bsize)
    exclude = list(forget_classes) if mode == "CR" else []
    stats = class_statistics(params, original=original, view=view, retain=retain, num_classes=num_classes,
                             exclude=exclude, device=device)

    forget_labels = torch.as_tensor(np.asarray(getattr(forget, "targets", [forget[i][1] for i in range(len(forget))])))
    targets = forget_targets(embed(original, forget, device, params.bsize), forget_labels, stats)

    forget_loader = DataLoader(_Indexed(forget), batch_size=params.bsize, shuffle=True,
                               generator=_generator(params.seed))
    sur = _Indexed(view.data)
    if mode == "HR":
        counts = torch.bincount(view.pseudo_labels, minlength=num_classes).float()
        weights = (1.0 / counts.clamp_min(1))[view.pseudo_labels].double()
        sampler = WeightedRandomSampler(weights, len(sur), replacement=True, generator=_generator(params.seed + 1))
        sur_loader = DataLoader(sur, batch_size=params.bsize, sampler=sampler)
    else:
        sur_loader = DataLoader(sur, batch_size=params.bsize, shuffle=True, generator=_generator(params.seed + 1))
    sur_batches = itertools.chain.from_iterable(itertools.repeat(sur_loader))

    opt, sched = _optimiser(model, params)
    rule = StopRule(target, params.min_epochs)
    result = ScarResult(model, stats_classes=stats.labels.tolist(), stats_counts=stats.counts.tolist())
    class_w = None
    if mode == "HR":
        _, per_class = _class_accuracy(model, forget, num_classes, device, params.bsize)
        class_w = hr_class_weights(per_class, hr_threshold).to(device)

    def check(epoch: int, **losses) -> bool:
        nonlocal class_w
        acc, per_class = _class_accuracy(model, forget, num_classes, device, params.bsize)
        if class_w is not None:
            class_w = hr_class_weights(per_class, hr_threshold).to(device)
        result.history.append({"epoch": epoch, "step": result.steps, "forget_acc": acc, **losses})
        result.stopped = rule.should_stop(acc, epoch)
        return result.stopped

    if params.check_every not in ("step", "batch", "epoch"):
        raise UnlearnkitError(f"unknown check_every {params.check_every!r}; choose step, batch or epoch")
    start = time.perf_counter()
    _set_train_mode(model, bool(params.freeze_bn))
    prog, task = _progress(progress, params.epochs, "SCAR")
    with prog:
        for epoch in range(params.epochs):
            for xf, yf, pos in forget_loader:
                xf, yf = xf.to(device), yf.to(device)
                tgt = targets[pos].to(device)
                for _ in range(params.num_surrogate_batches + 1):
                    # HR: the class weights are refreshed by every check, so read them at every step (the
                    # published code looked them up once per forget batch and used stale ones after).
                    w = class_w[yf] if class_w is not None else None
                    xs, _, spos = next(sur_batches)
                    xs = xs.to(device)
                    teacher = view.teacher_logits[spos].to(device)
                    opt.zero_grad(set_to_none=True)
                    dists = squared_mahalanobis(model.features(xf), stats)
                    l_fgt = forget_loss(distance_to_targets(dists, stats, tgt), w)
                    student = model(xs)
                    if mode == "CR":
                        keep, teacher = drop_forgotten_teacher(teacher, forget_classes)
                        student = student[keep]
                    l_dist = divergence(student, teacher, params.temperature) if len(student) else l_fgt.new_zeros(())
                    loss = params.lambda_1 * l_fgt + params.lambda_2 * l_dist
                    _check_finite(loss, result.steps, epoch)
                    loss.backward()
                    opt.step()
                    result.steps += 1
                    if params.check_every == "step" and check(epoch, loss_fgt=float(l_fgt.detach()),
                                                              loss_dist=float(l_dist.detach())):
                        break
                if result.stopped or (params.check_every == "batch" and check(epoch)):
                    break
            result.epochs = epoch + 1
            if not result.stopped:
                check(epoch)
            prog.update(task, advance=1, info=f"forget acc {result.history[-1]['forget_acc']:.3f}")
            if result.stopped:
                break
            sched.step()
    model.eval()
    result.seconds = time.perf_counter() - start
    return result


def scar_self(
    model: nn.Module,
    *,
    original: nn.Module,
    surrogate: Dataset | SurrogateView,
    forget_classes: Sequence[int],
    num_classes: int,
    target: float = 0.01,
    params: ScarParams | None = None,
    retain: Dataset | None = None,
    device="cpu",
    progress: bool = False,
) -> ScarResult:
    """Class removal without the forget set: surrogate images the original assigns to a forgotten class
    are pushed to their nearest other class, the rest are distilled.

    The stop rule watches the same pseudo-forget images (share still assigned to a forgotten class), so
    the forget set is never read, not even to decide when to stop. Batches without a pseudo-forget image
    are skipped (their forget loss would be the mean of nothing).
    """
    params = params or ScarParams()
    device = torch.device(device)
    torch.manual_seed(params.seed)
    divergence = DIVERGENCES.get(params.divergence)
    model.to(device)
    original.to(device).eval()
    view = surrogate if isinstance(surrogate, SurrogateView) else SurrogateView.build(
        original, surrogate, device, params.bsize)
    forget_classes = [int(c) for c in forget_classes]
    pseudo = torch.isin(view.pseudo_labels, torch.tensor(forget_classes))
    if not bool(pseudo.any()):
        raise UnlearnkitError(
            "the original model assigns no surrogate image to the forgotten class, so SCAR_self has nothing "
            "to unlearn with: use more or other surrogate images, or SCAR"
        )
    stats = class_statistics(params, original=original, view=view, retain=retain, num_classes=num_classes,
                             exclude=forget_classes, device=device, self_forget=True)
    pseudo_pos = torch.nonzero(pseudo).squeeze(1)
    sur_targets = torch.full((len(view.data),), -1, dtype=torch.long)
    sur_targets[pseudo_pos] = forget_targets(view.embeddings[pseudo_pos], view.pseudo_labels[pseudo_pos], stats)
    pseudo_set = torch.utils.data.Subset(view.data, pseudo_pos.tolist())

    loader = DataLoader(_Indexed(view.data), batch_size=params.bsize, shuffle=True,
                        generator=_generator(params.seed + 1))
    opt, sched = _optimiser(model, params)
    rule = StopRule(target, params.min_epochs)
    result = ScarResult(model, stats_classes=stats.labels.tolist(), stats_counts=stats.counts.tolist())
    fc = torch.tensor(forget_classes, device=device)

    def pseudo_forget_acc() -> float:
        logits, _ = predict(model, pseudo_set, device=device, batch_size=params.bsize)
        return float(torch.isin(logits.argmax(1), fc.cpu()).float().mean())

    start = time.perf_counter()
    _set_train_mode(model, bool(params.freeze_bn))
    prog, task = _progress(progress, params.epochs, "SCAR_self")
    with prog:
        for epoch in range(params.epochs):
            for xs, _, spos in loader:
                is_pf = pseudo[spos]
                if not bool(is_pf.any()):
                    result.skipped_batches += 1
                    continue
                xs = xs.to(device)
                teacher = view.teacher_logits[spos].to(device)
                opt.zero_grad(set_to_none=True)
                emb = model.features(xs)
                logits = model.classifier(emb)
                pf = is_pf.to(device)
                dists = squared_mahalanobis(emb[pf], stats)
                l_fgt = forget_loss(distance_to_targets(dists, stats, sur_targets[spos][is_pf].to(device)))
                keep, teacher = drop_forgotten_teacher(teacher, forget_classes)
                student = logits[keep]
                l_dist = divergence(student, teacher, params.temperature) if len(student) else l_fgt.new_zeros(())
                loss = params.lambda_1 * l_fgt + params.lambda_2 * l_dist
                _check_finite(loss, result.steps, epoch)
                loss.backward()
                opt.step()
                result.steps += 1
                if params.check_every == "step":
                    acc = pseudo_forget_acc()
                    result.history.append({"epoch": epoch, "step": result.steps, "pseudo_forget_acc": acc,
                                           "loss_fgt": float(l_fgt.detach()), "loss_dist": float(l_dist.detach())})
                    if rule.should_stop(acc, epoch):
                        result.stopped = True
                        break
            result.epochs = epoch + 1
            if not result.stopped:
                acc = pseudo_forget_acc()
                result.history.append({"epoch": epoch, "step": result.steps, "pseudo_forget_acc": acc})
                result.stopped = rule.should_stop(acc, epoch)
            prog.update(task, advance=1, info=f"pseudo-forget acc {result.history[-1]['pseudo_forget_acc']:.3f}")
            if result.stopped:
                break
            sched.step()
    model.eval()
    result.seconds = time.perf_counter() - start
    return result

"""Bad Teacher (Chundawat et al. 2023, "Can bad teaching induce forgetting?").

Two teachers: the competent one (the frozen original) and an incompetent one (a randomly initialised
model of the same architecture). The student, starting from the original, distils the incompetent teacher
on forget samples and the competent one on a random subset of the retain set, in one shuffled data set
whose third item flags which teacher applies. Paper defaults: 1 epoch, Adam lr 1e-4, batch 256, KL
temperature 1, 30% of the retain set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import ConcatDataset, Dataset

from ...train.loop import fit
from ..base import MethodSpec, UnlearnContext, freeze_copy, register_method
from ._common import SGDParams, fit_kwargs, fresh_model, train_config


@dataclass
class BadTeacherParams(SGDParams):
    epochs: int = 3
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    temperature: float = 1.0
    retain_fraction: float = 0.3


class Flagged(Dataset):
    """``(x, y, flag)``: flag 1 = learn from the incompetent teacher."""

    def __init__(self, data: Dataset, flag: int):
        self.data, self.flag = data, flag

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        x, y = self.data[i][:2]
        return x, y, self.flag


def teaching_set(ctx: UnlearnContext, fraction: float) -> Dataset:
    rng = np.random.default_rng(ctx.seed)
    n = max(1, int(round(fraction * len(ctx.retain))))
    retain = ctx.retain.subset(np.sort(rng.choice(len(ctx.retain), size=min(n, len(ctx.retain)), replace=False)))
    return ConcatDataset([Flagged(ctx.forget, 1), Flagged(retain, 0)])


def two_teacher_step(good: nn.Module, bad: nn.Module, temperature: float):
    def step(model: nn.Module, batch: tuple) -> torch.Tensor:
        x, flag = batch[0], batch[2].float().unsqueeze(1)
        with torch.no_grad():
            target = (flag * F.softmax(bad(x) / temperature, dim=1)
                      + (1 - flag) * F.softmax(good(x) / temperature, dim=1))
        log_student = F.log_softmax(model(x) / temperature, dim=1)
        return F.kl_div(log_student, target, reduction="batchmean")

    return step


def bad_teacher(model: nn.Module, ctx: UnlearnContext, p: BadTeacherParams) -> nn.Module:
    good = ctx.original.to(ctx.device)
    bad = freeze_copy(fresh_model(ctx.original, seed=ctx.seed + 1)).to(ctx.device)
    fit(model, teaching_set(ctx, p.retain_fraction), train_config(p, ctx),
        step_fn=two_teacher_step(good, bad, p.temperature), description="bad_teacher", **fit_kwargs(ctx))
    return model


SPEC = register_method(MethodSpec(name="bad_teacher", fn=bad_teacher, params_cls=BadTeacherParams,
                                  description="Distil a random teacher on forget, the original on retain."))

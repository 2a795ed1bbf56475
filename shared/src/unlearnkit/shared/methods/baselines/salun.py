"""SalUn (Fan et al. 2024): random-label unlearning restricted to the weights most salient for the forget set.

The saliency of a weight is |sum of the forget-loss gradient over the forget set|; the top ``mask_ratio``
of all weights, ranked jointly across layers, may move, every other weight stays bit-identical (fit's
GradMask restores them after each step, so weight decay and momentum cannot move them either).
The mask is also a product of its own (``saliency_masks`` for many ratios with one gradient pass, as
spkd-transfer's ``mask`` command needs), stored as a weights-only torch file.
Paper defaults (CIFAR-10 ResNet-18): ratio 0.5, RL for 10 epochs, lr 0.013 (class) / 0.013-0.02 (random).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ...errors import UnlearnkitError
from ...io import load_torch, save_torch
from ...train.loop import fit
from ..base import MethodSpec, UnlearnContext, register_method
from ._common import fit_kwargs, summed_batch_gradients, train_config
from .rl import RLParams, random_label_set

Mask = dict[str, torch.Tensor]


def forget_gradient(model: nn.Module, forget, device="cpu", batch_size: int = 64) -> dict[str, torch.Tensor]:
    """|summed gradient of the forget cross-entropy| per parameter, on the CPU.

    Eval mode, so BatchNorm statistics do not drift; the model's own ``.grad`` fields are left untouched.
    """
    sums, _ = summed_batch_gradients(model, forget, device, batch_size)
    return {n: g.abs().cpu() for n, g in sums.items()}


def masks_from_saliency(saliency: Mapping[str, torch.Tensor], ratios: Iterable[float]) -> dict[float, Mask]:
    """Top-``ratio`` masks ranked over all parameters jointly; exactly round(ratio * N) ones per mask."""
    names = list(saliency)
    flat = torch.cat([saliency[n].flatten().float() for n in names])
    order = torch.argsort(flat, descending=True, stable=True)
    sizes = [saliency[n].numel() for n in names]
    out = {}
    for ratio in ratios:
        if not 0.0 <= ratio <= 1.0:
            raise UnlearnkitError(f"mask ratio must lie in [0, 1], got {ratio}")
        keep = torch.zeros(flat.numel(), dtype=torch.uint8)
        keep[order[: int(round(ratio * flat.numel()))]] = 1
        out[float(ratio)] = {n: part.view_as(saliency[n]) for n, part in zip(names, keep.split(sizes), strict=True)}
    return out


def saliency_masks(model: nn.Module, forget, ratios: Iterable[float], device="cpu", batch_size: int = 64
                   ) -> dict[float, Mask]:
    """One gradient pass, one mask per ratio (name -> 0/1 uint8 tensor, 1 = may be updated)."""
    return masks_from_saliency(forget_gradient(model, forget, device, batch_size), ratios)


def saliency_mask(model: nn.Module, forget, ratio: float = 0.5, device="cpu", batch_size: int = 64) -> Mask:
    return saliency_masks(model, forget, [ratio], device, batch_size)[float(ratio)]


def mask_fraction(mask: Mapping[str, torch.Tensor]) -> float:
    ones = sum(int(m.sum()) for m in mask.values())
    return ones / max(1, sum(m.numel() for m in mask.values()))


def save_mask(path: str | os.PathLike, mask: Mapping[str, torch.Tensor]):
    return save_torch(path, {n: m.to(torch.uint8).cpu() for n, m in mask.items()})


def load_mask(path: str | os.PathLike, md5: str | None = None) -> Mask:
    mask = load_torch(path, md5=md5)
    if not isinstance(mask, dict) or not all(torch.is_tensor(m) for m in mask.values()):
        raise UnlearnkitError(f"{path} does not hold a saliency mask (a dict of parameter name -> tensor)")
    return {n: (m != 0).to(torch.uint8) for n, m in mask.items()}


@dataclass
class SalUnParams(RLParams):
    epochs: int = 2
    lr: float = 0.02
    mask_ratio: float = 0.5
    mask_path: str = ""  # a precomputed mask (save_mask) instead of computing it here


def salun(model: nn.Module, ctx: UnlearnContext, p: SalUnParams) -> nn.Module:
    if p.mask_path:
        mask = load_mask(p.mask_path)
    else:
        mask = saliency_mask(model, ctx.forget, p.mask_ratio, ctx.device, p.batch_size)
    fit(model, random_label_set(ctx), train_config(p, ctx), grad_mask=mask, description="salun",
        **fit_kwargs(ctx))
    return model


SPEC = register_method(MethodSpec(name="salun", fn=salun, params_cls=SalUnParams,
                                  description="Random labels on the forget-salient weights only."))

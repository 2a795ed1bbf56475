"""Original and retrained models for a preset, through the core's ``create_model`` and ``fit``.

Naive PS needs the final layer's weights *before* training. They are captured right after the model is
built and stored in the checkpoint meta as ``meta["init_classifier"] = {"weight", "bias"}``, the same place
the core's ``unlearnkit train`` uses, so that any checkpoint either tool writes can be unlearned.
The retrained model starts from the same initial weights (same seed) and sees the retain set only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from torch import nn
from unlearnkit.shared.checkpoint import save_model
from unlearnkit.shared.data import LabeledDataset
from unlearnkit.shared.models import create_model
from unlearnkit.shared.train import TrainConfig, fit, seed_everything

from .presets import Preset, resolve_model_name
from .selection import classifier_of

__all__ = ["TrainedModel", "build_model", "train_model", "train_config", "init_classifier_meta"]


@dataclass
class TrainedModel:
    model: nn.Module
    meta: dict
    seconds: float


def build_model(preset: Preset, info, seed: int, model_name: str | None = None) -> nn.Module:
    """A freshly initialised model for the preset (deterministic for a given seed)."""
    seed_everything(seed)
    name = resolve_model_name(model_name or preset.model)
    return create_model(name, info.num_classes, in_chans=info.in_chans, **preset.model_kwargs)


def init_classifier_meta(model: nn.Module) -> dict:
    head = classifier_of(model)
    return {
        "weight": head.weight.detach().cpu().clone(),
        "bias": None if head.bias is None else head.bias.detach().cpu().clone(),
    }


def train_config(preset: Preset, seed: int, epochs: int | None = None) -> TrainConfig:
    return TrainConfig(
        epochs=preset.train_epochs if epochs is None else epochs,
        batch_size=preset.train_batch_size,
        lr=preset.train_lr,
        optimizer=preset.train_optimizer,
        weight_decay=preset.train_weight_decay,
        schedule=preset.train_schedule,
        milestones=preset.train_milestones,
        seed=seed,
    )


def train_model(
    preset: Preset,
    train_set: LabeledDataset,
    *,
    seed: int,
    epochs: int | None = None,
    model_name: str | None = None,
    device="cpu",
    progress: bool = False,
    description: str = "train",
    extra_meta: dict | None = None,
    save_to: str | Path | None = None,
) -> TrainedModel:
    """Build, train and (optionally) save a model; the meta records the recipe and the initial prototypes."""
    model = build_model(preset, train_set.info, seed, model_name)
    init = init_classifier_meta(model)
    cfg = train_config(preset, seed, epochs)
    t0 = time.perf_counter()
    fit(model, train_set, cfg, device=device, progress=progress, description=description)
    seconds = time.perf_counter() - t0
    meta = {
        "init_classifier": init,
        "dataset": train_set.info.name,
        "train_config": cfg.to_dict(),
        "train_seconds": seconds,
        "train_size": len(train_set),
        "model_type": preset.name,
        "seed": seed,
        **(extra_meta or {}),
    }
    model.eval()
    if save_to is not None:
        save_model(save_to, model, meta=meta)
    return TrainedModel(model.cpu(), meta, seconds)

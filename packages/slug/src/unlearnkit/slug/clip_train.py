"""Contrastive training of a small CLIP on image + caption-template data (the demo and test model).

Captions are re-drawn from the templates every epoch, so the text tower learns the class *name* rather
than one fixed sentence; that is what makes zero-shot classification over names work afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from .digits import DIGIT_NAMES, TEMPLATES, DigitImages
from .losses import clip_loss
from .models import ClipBundle
from .progress import progress_bar


@dataclass
class ClipTrainConfig:
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.1
    seed: int = 0


def train_clip_on_labels(bundle: ClipBundle, data: DigitImages, cfg: ClipTrainConfig,
                         class_names: Sequence[str] = DIGIT_NAMES, templates: Sequence[str] = TEMPLATES) -> dict:
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    model = bundle.model
    images = torch.stack([bundle.preprocess_val(im) for im in data.images])
    labels = torch.as_tensor(data.labels)
    # tokens[c, t]: the caption of class c under template t
    tokens = bundle.tokenize([t.format(c) for c in class_names for t in templates]).view(
        len(class_names), len(templates), -1)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = (len(images) + cfg.batch_size - 1) // cfg.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch,
                                                pct_start=0.1)
    model.train()
    start = time.perf_counter()
    last = float("nan")
    with progress_bar("training tiny CLIP", total=cfg.epochs) as advance:
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(images), generator=g)
            tmpl = torch.randint(len(templates), (len(images),), generator=g)
            for i in range(0, len(images), cfg.batch_size):
                idx = perm[i:i + cfg.batch_size]
                loss = clip_loss(model, images[idx], tokens[labels[idx], tmpl[idx]])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                last = loss.item()
            advance(1)
    model.eval()
    return {"train": asdict(cfg), "final_loss": last, "seconds": time.perf_counter() - start}

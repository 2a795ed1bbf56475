"""The two losses SLUG differentiates: one that ties forget images to their captions, and CLIP's own."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _embed(model: nn.Module, images: torch.Tensor, texts: torch.Tensor):
    return model.encode_image(images, normalize=True), model.encode_text(texts, normalize=True)


def forget_loss(model: nn.Module, images: torch.Tensor, texts: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cos(image, caption): its gradient points along what makes the pairs match, which is
    exactly what the single-layer step walks against (cosine embedding loss with target +1)."""
    img, txt = _embed(model, images, texts)
    return (1.0 - (img * txt).sum(-1)).mean()


def pair_logits(model: nn.Module, images: torch.Tensor, texts: torch.Tensor) -> torch.Tensor:
    img, txt = _embed(model, images, texts)
    scale = model.logit_scale.exp() if hasattr(model, "logit_scale") else torch.tensor(100.0)
    return scale * img @ txt.t()


def clip_loss_per_sample(model: nn.Module, images: torch.Tensor, texts: torch.Tensor) -> torch.Tensor:
    """Symmetric contrastive loss of each pair against the rest of its batch (used by the MIA features)."""
    logits = pair_logits(model, images, texts)
    labels = torch.arange(len(images), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, labels, reduction="none") + F.cross_entropy(logits.t(), labels, reduction="none"))


def clip_loss(model: nn.Module, images: torch.Tensor, texts: torch.Tensor) -> torch.Tensor:
    """The standard symmetric CLIP contrastive loss: what the retain gradient (and FT) measures."""
    return clip_loss_per_sample(model, images, texts).mean()


LOSSES = {"forget": forget_loss, "clip": clip_loss}

"""CLIP zero-shot classification (open_clip's recipe) for SLUG's forget and utility accuracies.

Works with any module exposing ``encode_image(images)`` and ``encode_text(tokens)`` (open_clip's CLIP,
or a test double); the tokenizer is any callable from a list of strings to a token tensor. The classifier
must be rebuilt after every change to the text tower, which is why it is a separate, explicit step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..inference import eval_mode, iterate_batches
from .accuracy import topk_accuracy

__all__ = [
    "format_prompts",
    "zero_shot_classifier",
    "clip_zero_shot_classifier",
    "zero_shot_logits",
    "zero_shot_predict",
    "zero_shot_accuracy",
]

Template = str | Callable[[str], str]


def format_prompts(classname: str, templates: Sequence[Template]) -> list[str]:
    """Prompts for one class; a template is a ``"{}"`` format string or a callable (open_clip style)."""
    return [t(classname) if callable(t) else t.format(classname) for t in templates]


def zero_shot_classifier(
    model, tokenizer, classnames: Sequence[str], templates: Sequence[Template], device="cpu"
):
    """Class embeddings ``[d, C]``: per class, the mean of the L2-normalised text embeddings of every
    template, re-normalised (averaging unit vectors shrinks them, and logits must stay cosines)."""
    if not templates:
        raise ValueError("zero-shot classifier needs at least one template")
    device = torch.device(device)
    model.to(device)
    cols = []
    with eval_mode(model):
        for name in classnames:
            tokens = tokenizer(format_prompts(name, templates))
            emb = F.normalize(model.encode_text(tokens.to(device)).float(), dim=-1)
            cols.append(F.normalize(emb.mean(dim=0), dim=0))
    return torch.stack(cols, dim=1)


clip_zero_shot_classifier = zero_shot_classifier


def zero_shot_logits(
    model, classifier: torch.Tensor, images: torch.Tensor, scale: float = 100.0
) -> torch.Tensor:
    """``scale`` x cosine similarity between normalised image embeddings and the class columns ``[B, C]``
    (100 as in open_clip's zero-shot eval; the scale does not change the ranking)."""
    feats = F.normalize(model.encode_image(images).float(), dim=-1)
    return scale * feats @ classifier.to(feats.device, feats.dtype)


def zero_shot_predict(model, classifier, data, device="cpu", batch_size: int = 256):
    """Zero-shot logits ``[N, C]`` and targets ``[N]`` on the CPU for a data set of (image, label)."""
    device = torch.device(device)
    model.to(device)
    outs, ys = [], []
    with eval_mode(model):
        for x, y in iterate_batches(data, batch_size):
            outs.append(zero_shot_logits(model, classifier, x.to(device)).cpu())
            ys.append(y.long().cpu().reshape(-1))
    if not outs:
        return torch.zeros(0, classifier.shape[1]), torch.zeros(0, dtype=torch.long)
    return torch.cat(outs), torch.cat(ys)


def zero_shot_accuracy(
    model, classifier, data, device="cpu", topk: Sequence[int] = (1, 5), batch_size: int = 256
) -> dict[str, float]:
    """Top-k zero-shot accuracy in percent, keyed ``"top1"``, ``"top5"``, ...; labels index the
    classifier's columns."""
    logits, targets = zero_shot_predict(model, classifier, data, device=device, batch_size=batch_size)
    acc = topk_accuracy(logits, targets, ks=topk)
    return {f"top{k}": v for k, v in acc.items()}

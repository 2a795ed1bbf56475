"""Embeddings and predictions of a model over a data set, in eval mode and without gradients."""

from __future__ import annotations

import torch
from torch import nn
from unlearnkit.shared.inference import run_model

__all__ = ["embed", "embed_and_predict"]


def embed(model: nn.Module, data, device, batch_size: int = 1024) -> torch.Tensor:
    """Penultimate features (``model.features``) of every sample, on the CPU."""
    feats, _ = run_model(model.features, model, data, device=device, batch_size=batch_size)
    return feats


def embed_and_predict(model: nn.Module, data, device, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and logits in one pass (the surrogate statistics need both)."""

    def both(x):
        f = model.features(x)
        return torch.cat([f, model.classifier(f)], 1)

    out, _ = run_model(both, model, data, device=device, batch_size=batch_size)
    d = out.shape[1] - model.classifier.out_features
    return out[:, :d], out[:, d:]

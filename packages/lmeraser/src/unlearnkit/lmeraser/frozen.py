"""The frozen backbone as LMEraser sees it: a fixed feature map the prompts are learned through.

The backbone's weights never change (no gradients, eval mode so dropout and norm statistics are fixed);
gradients still flow *through* it to the prompt added to its input. Images arrive normalised with their
data set's statistics; :meth:`FrozenBackbone.prepare` re-normalises them with the backbone's own statistics
(0.5/0.5 for the 22k ViT, ImageNet's for the others), which is the space the prompt lives in.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["FrozenBackbone"]


class FrozenBackbone(nn.Module):
    def __init__(
        self,
        model: nn.Module,
        *,
        data_mean: Sequence[float] | None = None,
        data_std: Sequence[float] | None = None,
        model_mean: Sequence[float] | None = None,
        model_std: Sequence[float] | None = None,
    ):
        super().__init__()
        self.model = model
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.model.eval()
        self.feature_dim = int(getattr(model, "feature_dim", 0)) or None
        renorm = data_mean is not None and model_mean is not None and (
            tuple(data_mean) != tuple(model_mean) or tuple(data_std) != tuple(model_std)
        )
        if renorm:
            # x_model = (x_data * s_d + m_d - m_m) / s_m  ==  x_data * scale + shift
            dm, ds = torch.tensor(data_mean), torch.tensor(data_std)
            mm, ms = torch.tensor(model_mean), torch.tensor(model_std)
            self.register_buffer("scale", (ds / ms).view(1, -1, 1, 1))
            self.register_buffer("shift", ((dm - mm) / ms).view(1, -1, 1, 1))
        else:
            self.scale = None
            self.shift = None

    def train(self, mode: bool = True) -> FrozenBackbone:
        # Frozen means frozen: never let a caller's .train() switch dropout or norm statistics on.
        super().train(False)
        return self

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Data-set normalised images -> the backbone's input space (where prompts are added)."""
        if self.scale is None:
            return x
        return x * self.scale + self.shift

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features of already-prepared (and possibly prompted) inputs."""
        return self.model.features(x)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Un-prompted features, used for clustering and routing."""
        return self.embed(self.prepare(x))

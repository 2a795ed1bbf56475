"""Inference: route a sample to its cluster, then apply that cluster's prompt and head.

``lmeraser`` routes each input to the nearest prototype (on un-prompted features) among the clusters that
still have members. ``random_part_tuning`` has no meaningful route for an unseen sample (its partitions are
hashes of training ids), so it averages the softmax of every non-empty partition, as sharded ensembles do.
"""

from __future__ import annotations

import torch
from torch import nn

from .frozen import FrozenBackbone
from .routing import nearest_prototype
from .state import LMEraserState
from .trainer import init_cluster

__all__ = ["LMEraserModel"]


class LMEraserModel(nn.Module):
    def __init__(self, state: LMEraserState, backbone: FrozenBackbone):
        super().__init__()
        self.backbone = backbone
        self.routing = state.partition.routing
        units = []
        for c in range(state.partition.num_clusters):
            unit = init_cluster(state.train_cfg, backbone.feature_dim, state.config.seed, c)
            unit.load_state_dict(state.clusters[c].state)
            unit.requires_grad_(False)
            units.append(unit)
        self.units = nn.ModuleList(units)
        self.register_buffer("active", state.partition.active())
        protos = state.partition.prototypes
        self.register_buffer("prototypes", protos if protos is not None else torch.zeros(0))
        self.eval()

    @torch.no_grad()
    def route(self, x: torch.Tensor) -> torch.Tensor:
        return nearest_prototype(self.backbone(x), self.prototypes, self.active).to(x.device)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (``prototype`` routing) or log mean probabilities (``ensemble``); argmax is the prediction."""
        if self.routing == "ensemble":
            probs = [self.units[c].logits(self.backbone, x).softmax(1)
                     for c in range(len(self.units)) if bool(self.active[c])]
            return torch.stack(probs).mean(0).clamp_min(1e-12).log()
        routes = self.route(x)
        out = None
        for c in routes.unique().tolist():
            sel = routes == c
            logits = self.units[c].logits(self.backbone, x[sel])
            if out is None:
                out = logits.new_zeros(len(x), logits.shape[1])
            out[sel] = logits
        return out

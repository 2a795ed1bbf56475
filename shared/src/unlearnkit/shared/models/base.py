"""The one shape every unlearnkit model has: ``features(x)`` then ``classifier``.

Unlearning methods reach into models in a few fixed places (penultimate features for distillation and
metric learning, the final layer's rows as class prototypes); a common shape means no method needs to
know which architecture it was given.
"""

from __future__ import annotations

import torch
from torch import nn


class Classifier(nn.Module):
    """Subclasses define ``features(x) -> (B, feature_dim)`` and set ``self.classifier = nn.Linear``."""

    feature_dim: int
    classifier: nn.Linear

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class MLP(Classifier):
    """A small fully connected net: the fastest model for tests and for checking distributed equivalence."""

    def __init__(self, num_classes: int, in_chans: int = 1, image_size: int = 32, hidden: int = 128):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(in_chans * image_size * image_size, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.ReLU())
        self.feature_dim = hidden
        self.classifier = nn.Linear(hidden, num_classes)

    def features(self, x):
        return self.body(x)

"""LeNet-5 as Prototype Surgery trains it on MNIST (32x32 input, BatchNorm, 64-d features)."""

from __future__ import annotations

from torch import nn

from .base import Classifier


class LeNet5(Classifier):
    def __init__(self, num_classes: int = 10, in_chans: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_chans, 6, 5), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 64), nn.ReLU(),
        )
        self.feature_dim = 64
        self.classifier = nn.Linear(64, num_classes)

    def features(self, x):
        return self.body(x)

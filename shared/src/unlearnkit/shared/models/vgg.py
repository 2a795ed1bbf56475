"""VGG16-BN as Prototype Surgery uses it (TinyImageNet 64x64; a 32x32 variant for CIFAR)."""

from __future__ import annotations

from torch import nn

from .base import Classifier

_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class VGG16BN(Classifier):
    def __init__(self, num_classes: int = 200, in_chans: int = 3, image_size: int = 64):
        super().__init__()
        layers, cin = [], in_chans
        for v in _CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                cin = v
        self.conv = nn.Sequential(*layers, nn.Flatten())
        flat = 512 * (image_size // 32) ** 2
        self.head = nn.Sequential(nn.Linear(flat, 4096), nn.BatchNorm1d(4096), nn.ReLU(inplace=True),
                                  nn.Linear(4096, 1024), nn.BatchNorm1d(1024), nn.ReLU(inplace=True))
        self.feature_dim = 1024
        self.classifier = nn.Linear(1024, num_classes)

    def features(self, x):
        return self.head(self.conv(x))

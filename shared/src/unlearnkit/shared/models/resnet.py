"""torchvision ResNet-18/50 in unlearnkit's shape, with the ImageNet stem or the 3x3 CIFAR stem."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import UnlearnkitError
from .base import Classifier


class TorchvisionResNet(Classifier):
    """``stem="cifar"``: 3x3 stride-1 first conv, no max-pool (SalUn / SCAR on 32-64 px images)."""

    def __init__(self, arch: str, num_classes: int, in_chans: int = 3, stem: str = "imagenet",
                 pretrained: bool = False):
        super().__init__()
        import torchvision.models as tvm

        builder = getattr(tvm, arch)
        weights = "DEFAULT" if pretrained else None
        net = builder(weights=weights)
        if stem == "cifar":
            net.conv1 = nn.Conv2d(in_chans, 64, 3, 1, 1, bias=False)
            net.maxpool = nn.Identity()
        elif stem == "imagenet":
            if in_chans != 3:
                net.conv1 = nn.Conv2d(in_chans, 64, 7, 2, 3, bias=False)
        else:
            raise UnlearnkitError(f"unknown ResNet stem {stem!r}; choose imagenet or cifar")
        self.feature_dim = net.fc.in_features
        old_fc = net.fc
        net.fc = nn.Identity()
        self.net = net
        self.classifier = nn.Linear(self.feature_dim, num_classes)
        if pretrained and num_classes == old_fc.out_features:
            self.classifier.load_state_dict(old_fc.state_dict())

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

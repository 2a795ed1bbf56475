"""timm backbones (ViT, Swin) in unlearnkit's shape.

LMEraser's four backbones are registered under the names its users know; any other timm model is reachable
as ``timm:<name>``. Pretrained weights come from timm when asked (network), or from a local file.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Classifier

LMERASER_BACKBONES = {
    "vit-b-22k": "vit_base_patch16_224.augreg_in21k",
    "vit-b-1k": "vit_base_patch16_224.augreg_in21k_ft_in1k",
    "swin-b-22k": "swin_base_patch4_window7_224.ms_in22k",
    "swin-b-1k": "swin_base_patch4_window7_224.ms_in22k_ft_in1k",
}


class TimmClassifier(Classifier):
    """A timm model without its head (``num_classes=0``) plus our own linear classifier.

    ``features`` is timm's pooled pre-logits output: the CLS token after the final norm for ViT, the
    averaged tokens for Swin, which is what LMEraser clusters on.
    """

    def __init__(self, timm_name: str, num_classes: int, in_chans: int = 3, pretrained: bool = False, **kw):
        super().__init__()
        import timm

        self.backbone = timm.create_model(timm_name, pretrained=pretrained, num_classes=0, in_chans=in_chans, **kw)
        self.feature_dim = self.backbone.num_features
        self.classifier = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


def tiny_vit(num_classes: int, in_chans: int = 1, image_size: int = 32, **kw) -> TimmClassifier:
    """A ~0.2M-parameter ViT (patch 4, width 64, 3 blocks) for tests and the offline demos."""
    return TimmClassifier("vit_tiny_patch16_224", num_classes, in_chans=in_chans, img_size=image_size,
                          patch_size=4, embed_dim=kw.pop("embed_dim", 64), depth=kw.pop("depth", 3),
                          num_heads=kw.pop("num_heads", 2), **kw)

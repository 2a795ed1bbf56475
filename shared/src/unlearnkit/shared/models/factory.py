"""``create_model``: every backbone by name, like timm's registry and open_clip's factory."""

from __future__ import annotations

import os
from collections.abc import Callable

from torch import nn

from ..registry import Registry
from .base import MLP
from .lenet import LeNet5
from .resnet import TorchvisionResNet
from .resnet_cifar import CifarResNet
from .timm_models import LMERASER_BACKBONES, TimmClassifier, tiny_vit
from .vgg import VGG16BN
from .weights import load_weights

# builder(num_classes, in_chans, pretrained, **kw) -> Classifier
MODELS: Registry[Callable[..., nn.Module]] = Registry("model")


def register_model(name: str, aliases=()):
    return lambda fn: MODELS.register(name, fn, aliases=aliases)


def list_models() -> list[str]:
    return MODELS.names() + ["timm:<name>"]


def create_model(name: str, num_classes: int, in_chans: int = 3, pretrained: bool = False,
                 checkpoint: str | os.PathLike | None = None, md5: str | None = None, **kw) -> nn.Module:
    """Build a registered model; optionally load a local checkpoint (md5-verified when ``md5`` is given).

    The returned model carries ``model_config`` so a checkpoint can rebuild it without the caller's flags.
    """
    if name.startswith("timm:"):
        model = TimmClassifier(name[5:], num_classes, in_chans=in_chans, pretrained=pretrained, **kw)
    else:
        model = MODELS.get(name)(num_classes=num_classes, in_chans=in_chans, pretrained=pretrained, **kw)
    if checkpoint is not None:
        load_weights(model, checkpoint, md5=md5)
    model.model_config = {"name": name, "num_classes": num_classes, "in_chans": in_chans, "kwargs": dict(kw)}
    return model


@register_model("mlp")
def _mlp(num_classes, in_chans, pretrained, image_size=32, hidden=128):
    return MLP(num_classes, in_chans, image_size, hidden)


@register_model("lenet5", aliases=("lenet",))
def _lenet5(num_classes, in_chans, pretrained):
    return LeNet5(num_classes, in_chans)


@register_model("resnet20")
def _resnet20(num_classes, in_chans, pretrained):
    return CifarResNet(20, num_classes, in_chans)


@register_model("resnet56")
def _resnet56(num_classes, in_chans, pretrained):
    return CifarResNet(56, num_classes, in_chans)


@register_model("resnet18")
def _resnet18(num_classes, in_chans, pretrained, stem="imagenet"):
    return TorchvisionResNet("resnet18", num_classes, in_chans, stem=stem, pretrained=pretrained)


@register_model("resnet50")
def _resnet50(num_classes, in_chans, pretrained, stem="imagenet"):
    return TorchvisionResNet("resnet50", num_classes, in_chans, stem=stem, pretrained=pretrained)


@register_model("vgg16_bn", aliases=("vgg16",))
def _vgg16(num_classes, in_chans, pretrained, image_size=64):
    return VGG16BN(num_classes, in_chans, image_size)


@register_model("vit-tiny-test")
def _vit_tiny(num_classes, in_chans, pretrained, image_size=32, **kw):
    return tiny_vit(num_classes, in_chans, image_size, **kw)


def _lmeraser_builder(timm_name: str):
    def build(num_classes, in_chans, pretrained, **kw):
        return TimmClassifier(timm_name, num_classes, in_chans=in_chans, pretrained=pretrained, **kw)

    return build


for _short, _timm_name in LMERASER_BACKBONES.items():
    MODELS.register(_short, _lmeraser_builder(_timm_name))

"""``create_model``: every backbone by name, like timm's registry and open_clip's factory."""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from torch import nn

from ..errors import UnlearnkitError
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

# Constructor arguments a checkpoint's model_config may set, per registered model (by default the builder's
# own keyword arguments). A checkpoint is data from anywhere: it must not choose what gets downloaded or
# opened, so arguments that name weights, files or URLs are never taken from one.
MODEL_KWARGS: dict[str, frozenset[str]] = {}
TIMM_KWARGS = frozenset({"img_size", "patch_size", "embed_dim", "depth", "num_heads", "mlp_ratio", "qkv_bias",
                         "drop_rate", "drop_path_rate", "attn_drop_rate", "proj_drop_rate", "window_size",
                         "global_pool", "class_token", "no_embed_class", "reg_tokens", "depths", "init_values"})
FORBIDDEN_KWARGS = frozenset({"pretrained", "pretrained_cfg", "pretrained_cfg_overlay", "checkpoint_path",
                              "checkpoint", "md5", "cache_dir", "file", "url", "hf_hub_id", "weights",
                              "pretrained_strict"})


def register_model(name: str, aliases=(), kwargs: Iterable[str] | None = None):
    """Register a builder ``fn(num_classes, in_chans, pretrained, **kw)``; ``kwargs`` lists the constructor
    arguments a checkpoint may set (default: the builder's named keyword arguments)."""

    def deco(fn):
        MODELS.register(name, fn, aliases=aliases)
        MODEL_KWARGS[MODELS.resolve(name)] = frozenset(kwargs if kwargs is not None else _named_kwargs(fn))
        return fn

    return deco


def _named_kwargs(fn: Callable) -> set[str]:
    params = inspect.signature(fn).parameters.values()
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in ("num_classes", "in_chans", "pretrained")}


def allowed_kwargs(name: str) -> frozenset[str]:
    """The constructor arguments a checkpoint may set for model ``name``."""
    if name.startswith("timm:"):
        return TIMM_KWARGS
    return MODEL_KWARGS.get(MODELS.resolve(name), frozenset()) - FORBIDDEN_KWARGS


def _plain(value: Any) -> bool:
    if isinstance(value, bool | int | str) or value is None:
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_plain(v) and not isinstance(v, list | tuple) for v in value)
    return False


def model_from_config(config: Any, source: str = "the checkpoint") -> nn.Module:
    """Build the model a checkpoint's ``model_config`` describes, taking nothing else from it.

    Only registered names, positive class and channel counts, and the model's allowed constructor arguments
    (plain numbers and strings) are accepted; ``pretrained`` is always False, since the weights come from the
    file. Anything else is refused in one line, before a constructor runs.
    """
    if not isinstance(config, Mapping):
        raise UnlearnkitError(f"{source} has no valid model_config")
    name, kwargs = config.get("name"), config.get("kwargs") or {}
    if not isinstance(name, str) or not (name in MODELS or _known_timm_name(name)):
        raise UnlearnkitError(f"{source} names an unknown model {name!r}; choose from: {', '.join(list_models())}")
    for key in ("num_classes", "in_chans"):
        v = config.get(key, 3 if key == "in_chans" else None)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 1_000_000:
            raise UnlearnkitError(f"{source}: model_config {key} must be a positive integer, got {v!r}")
    if not isinstance(kwargs, Mapping):
        raise UnlearnkitError(f"{source}: model_config kwargs must be a mapping, got {type(kwargs).__name__}")
    allowed = allowed_kwargs(name)
    for key, value in kwargs.items():
        if key not in allowed:
            raise UnlearnkitError(f"{source} sets constructor argument {key!r} for {name}, which a checkpoint may "
                                  f"not set (allowed: {', '.join(sorted(allowed)) or 'none'})")
        if not _plain(value):
            raise UnlearnkitError(f"{source} sets {key!r} to a {type(value).__name__}; only numbers and strings "
                                  "are accepted")
    try:
        return create_model(name, config["num_classes"], in_chans=config.get("in_chans", 3), pretrained=False,
                            **dict(kwargs))
    except UnlearnkitError:
        raise
    except (TypeError, ValueError, RuntimeError, AssertionError, KeyError) as err:
        raise UnlearnkitError(f"{source}: cannot build {name} from its model_config "
                              f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None


def _known_timm_name(name: str) -> bool:
    """``timm:<name>`` of a model in timm's own registry: never ``hf-hub:``/``local-dir:`` names, which make
    timm fetch or read a configuration even without pretrained weights."""
    if not name.startswith("timm:"):
        return False
    import timm

    base = name[5:]
    return ":" not in base and "/" not in base and timm.is_model(base)


def list_models() -> list[str]:
    return MODELS.names() + ["timm:<name>"]


def create_model(name: str, num_classes: int, in_chans: int = 3, pretrained: bool = False,
                 checkpoint: str | os.PathLike | None = None, md5: str | None = None, **kw) -> nn.Module:
    """Build a registered model; optionally load a local checkpoint (md5-verified when ``md5`` is given).

    The returned model carries ``model_config`` so a checkpoint can rebuild it without the caller's flags.
    ``pretrained`` (weights from timm/torchvision, network) is ignored when ``checkpoint`` gives the weights.
    """
    bad = sorted(FORBIDDEN_KWARGS & set(kw))
    if bad:
        raise UnlearnkitError(f"model argument {bad[0]!r} is not accepted: pass pretrained=... or checkpoint=...")
    if checkpoint is not None:
        pretrained = False
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


@register_model("vit-tiny-test", kwargs=("image_size", "embed_dim", "depth", "num_heads"))
def _vit_tiny(num_classes, in_chans, pretrained, image_size=32, **kw):
    return tiny_vit(num_classes, in_chans, image_size, **kw)


def _lmeraser_builder(timm_name: str):
    def build(num_classes, in_chans, pretrained, **kw):
        return TimmClassifier(timm_name, num_classes, in_chans=in_chans, pretrained=pretrained, **kw)

    return build


for _short, _timm_name in LMERASER_BACKBONES.items():
    register_model(_short, kwargs=TIMM_KWARGS)(_lmeraser_builder(_timm_name))

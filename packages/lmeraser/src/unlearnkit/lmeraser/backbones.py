"""Frozen backbones by name: the paper's four timm models, any ``timm:<name>``, tiny test models, and the
embedded default (a small ViT trained once on the public part of digits, then cached).

Each source is a registry entry returning a :class:`~.frozen.FrozenBackbone` plus a description that goes
into the checkpoint (so ``erase``/``evaluate`` rebuild the same backbone and can prove it is the same via a
fingerprint of its weights).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed
from torch import nn
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.registry import Registry

from .frozen import FrozenBackbone

__all__ = ["BackboneSpec", "BACKBONE_SOURCES", "load_backbone", "fingerprint", "PUBLISHED_MD5",
           "IMAGENET_MEAN", "IMAGENET_STD", "EMBEDDED_ARCH"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)

#: The md5s the published code lists (and never checks) for its checkpoint files, by file name.
PUBLISHED_MD5 = {
    "vit_base_p16_224_in22k.pth": "b3563fde27a47c2017e78044a0a72748",
    "vit_base_p16_224_in1k.pth": "4423d3eecb5a0e00c353217a992d300f",
    "swin_base_patch4_window7_224_22k.pth": "bf9cc182ae5e417f97390e2b21a0eb09",
    "swin_base_patch4_window7_224.pth": "733836a1b1b88a8ec21da708c35bd29e",
}

#: The embedded backbone: a 3-block, width-64 ViT with 8x8 patches on 1x32x32 digits (~0.15M weights,
#: 17 tokens, so prompt tuning through it takes seconds on a CPU).
EMBEDDED_ARCH = {"name": "timm:vit_tiny_patch16_224",
                 "kwargs": {"img_size": 32, "patch_size": 8, "embed_dim": 64, "depth": 3, "num_heads": 2}}


@dataclass
class BackboneRequest:
    name: str
    in_chans: int
    image_size: int
    data_mean: tuple[float, ...]
    data_std: tuple[float, ...]
    checkpoint: str | None = None
    md5: str | None = None
    cache_dir: Path | None = None
    pretrain: Callable[[nn.Module], None] | None = None  # trains the embedded backbone on public data
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class BackboneSpec:
    """What the backbone expects: input size and channels, and its normalisation."""

    image_size: int
    in_chans: int
    mean: tuple[float, ...] | None  # None: the data set's own normalisation
    std: tuple[float, ...] | None


BACKBONE_SOURCES: Registry[Callable[[BackboneRequest], tuple[nn.Module, BackboneSpec, dict]]] = Registry("backbone")


def fingerprint(model: nn.Module) -> str:
    """sha256 over the weights (names, shapes, bytes): proves erase uses the backbone training used."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _md5_for(checkpoint: str | None, md5: str | None) -> str | None:
    if checkpoint is None:
        return md5
    return md5 or PUBLISHED_MD5.get(Path(checkpoint).name)


def _timm_backbone(req: BackboneRequest, name: str, mean, std) -> tuple[nn.Module, BackboneSpec, dict]:
    from unlearnkit.shared.models import create_model

    md5 = _md5_for(req.checkpoint, req.md5)
    model = create_model(name, num_classes=1, in_chans=3, pretrained=req.checkpoint is None,
                         checkpoint=req.checkpoint, md5=md5)
    if mean is None:  # any timm model: its own data config
        import timm.data

        cfg = timm.data.resolve_data_config({}, model=model.backbone)
        mean, std = tuple(cfg["mean"]), tuple(cfg["std"])
        size = int(cfg["input_size"][-1])
    else:
        size = 224
    return model, BackboneSpec(size, 3, tuple(mean), tuple(std)), {"checkpoint": req.checkpoint, "md5": md5}


for _name, _mean, _std in [("vit-b-22k", HALF, HALF), ("vit-b-1k", IMAGENET_MEAN, IMAGENET_STD),
                           ("swin-b-22k", IMAGENET_MEAN, IMAGENET_STD), ("swin-b-1k", IMAGENET_MEAN, IMAGENET_STD)]:
    BACKBONE_SOURCES.register(_name, lambda req, n=_name, m=_mean, s=_std: _timm_backbone(req, n, m, s))


def _embedded_kwargs(req: BackboneRequest) -> dict:
    return {**EMBEDDED_ARCH["kwargs"], "img_size": req.image_size}


def _tiny(req: BackboneRequest, name: str, kwargs: dict) -> tuple[nn.Module, BackboneSpec, dict]:
    """A small backbone on the data set's own resolution and normalisation; random (seeded) unless a
    checkpoint is given."""
    from unlearnkit.shared.models import create_model

    torch.manual_seed(int(req.extra.get("init_seed", 0)))
    model = create_model(name, num_classes=int(req.extra.get("num_classes", 10)), in_chans=req.in_chans,
                         checkpoint=req.checkpoint, md5=req.md5, **kwargs)
    return model, BackboneSpec(req.image_size, req.in_chans, None, None), {"checkpoint": req.checkpoint, "md5": req.md5}


BACKBONE_SOURCES.register("vit-tiny-test", lambda req: _tiny(req, "vit-tiny-test", {"image_size": req.image_size}))
# The embedded architecture with seeded random weights (or --checkpoint): fast tests and smoke runs.
BACKBONE_SOURCES.register("tiny-random", lambda req: _tiny(req, EMBEDDED_ARCH["name"], _embedded_kwargs(req)))


def _embedded(req: BackboneRequest) -> tuple[nn.Module, BackboneSpec, dict]:
    """The small ViT trained on the public split, cached so that train and erase load the same weights."""
    from unlearnkit.shared.checkpoint import load_model, save_model
    from unlearnkit.shared.models import create_model

    if req.checkpoint is not None:
        model, spec, info = _tiny(req, EMBEDDED_ARCH["name"], _embedded_kwargs(req))
        return model, spec, info
    if req.cache_dir is None or req.pretrain is None:
        raise UnlearnkitError("the embedded backbone needs a cache directory and public data to train on")
    key = req.extra.get("cache_key", "default")
    path = Path(req.cache_dir) / f"embedded-{key}.pt"
    if path.is_file():
        model, _ = load_model(path)
    elif torch.distributed.is_available() and torch.distributed.is_initialized():
        raise UnlearnkitError(f"the embedded backbone is not cached yet ({path}): run `lmeraser train` once in a "
                              "single process to build it, then launch the distributed run")
    else:
        torch.manual_seed(0)
        model = create_model(EMBEDDED_ARCH["name"], num_classes=int(req.extra.get("num_classes", 10)),
                             in_chans=req.in_chans, **_embedded_kwargs(req))
        req.pretrain(model)
        save_model(path, model, meta={"what": "lmeraser embedded backbone", "cache_key": key})
    return model, BackboneSpec(req.image_size, req.in_chans, None, None), {"checkpoint": str(path)}


BACKBONE_SOURCES.register("embedded", _embedded)


def load_backbone(req: BackboneRequest) -> tuple[FrozenBackbone, BackboneSpec, dict[str, Any]]:
    """Build (or load) a backbone, freeze it, and describe it for the checkpoint."""
    if req.name.startswith("timm:"):
        model, spec, info = _timm_backbone(req, req.name, None, None)
    else:
        model, spec, info = BACKBONE_SOURCES.get(req.name)(req)
    data_mean, data_std = _per_channel(req.data_mean, spec.in_chans), _per_channel(req.data_std, spec.in_chans)
    mean = spec.mean if spec.mean is not None else data_mean
    std = spec.std if spec.std is not None else data_std
    frozen = FrozenBackbone(model, data_mean=data_mean, data_std=data_std,
                            model_mean=mean[: spec.in_chans], model_std=std[: spec.in_chans])
    info = {"name": req.name, **info, "fingerprint": fingerprint(model), "feature_dim": frozen.feature_dim,
            "image_size": spec.image_size, "in_chans": spec.in_chans}
    return frozen, spec, info


def _per_channel(values, chans: int) -> tuple[float, ...]:
    """Grey data sets fed to an RGB backbone repeat their single channel (and its statistics)."""
    values = tuple(values)
    return values * chans if len(values) == 1 and chans > 1 else values[:chans]

"""CLIP models for SLUG: any open_clip name + pretrained tag, a local checkpoint, or a tiny test config.

A local checkpoint is one safetensors file whose metadata holds the open_clip model config, so it rebuilds
without pickles (weights-only by construction) and without network access.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._core import UnlearnkitError, atomic_write_bytes

TINY_CLIP_NAME = "slug-tiny-clip"

# Calibrated in specs/slug.md: about 3.5 M parameters (most in the 49408-token embedding), trains on the
# digits images in a minute or two on two CPU cores and reaches > 90% zero-shot accuracy.
TINY_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "patch_size": 4, "width": 96, "layers": 3, "head_width": 32,
                   "mlp_ratio": 2.0},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2,
                 "mlp_ratio": 2.0},
}


@dataclass
class ClipBundle:
    """A CLIP model with what it needs to run: preprocessing for training / evaluation and a tokenizer."""

    model: nn.Module
    preprocess_train: Any
    preprocess_val: Any
    tokenizer: Any
    config: dict[str, Any]
    name: str

    @property
    def context_length(self) -> int:
        return int(self.config.get("text_cfg", {}).get("context_length", 77))

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        return self.tokenizer(texts, context_length=self.context_length)


@contextmanager
def _quiet_open_clip():
    """open_clip warns 'no pretrained weights loaded' for every config-built model: expected here."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _build_from_config(name: str, cfg: dict[str, Any]) -> ClipBundle:
    """Build through open_clip's own factory (so transforms match what the config declares)."""
    import open_clip
    from open_clip.factory import _MODEL_CONFIGS

    # open_clip's config registry is a module dict keyed by name; registering there (rather than building
    # open_clip.model.CLIP by hand) keeps the transforms and tokenizer exactly what the config implies.
    _MODEL_CONFIGS.setdefault(name, json.loads(json.dumps(cfg)))
    with _quiet_open_clip():
        model, pre_train, pre_val = open_clip.create_model_and_transforms(name, pretrained=None)
    tokenizer = open_clip.get_tokenizer(name)
    return ClipBundle(model, pre_train, pre_val, tokenizer, cfg, name)


def tiny_clip(seed: int = 0, config: dict[str, Any] | None = None) -> ClipBundle:
    """A freshly initialised tiny CLIP (seeded): the model used by the tests and the digits demo."""
    torch.manual_seed(seed)
    cfg = config or TINY_CLIP_CONFIG
    name = TINY_CLIP_NAME if config is None else f"{TINY_CLIP_NAME}-{abs(hash(json.dumps(cfg, sort_keys=True)))}"
    return _build_from_config(name, cfg)


def load_clip(name: str = "ViT-B-32", pretrained: str | None = "laion400m_e32", checkpoint: str | Path | None = None,
              device: str = "cpu") -> ClipBundle:
    """Load the model SLUG edits.

    ``checkpoint`` (a file saved by :func:`save_clip`) wins over ``name``/``pretrained``; ``name ==
    "slug-tiny-clip"`` builds the untrained tiny config; otherwise open_clip loads (and may download) the
    named pretrained weights, e.g. the paper's ViT-B-32 / laion400m_e32.
    """
    if checkpoint is not None:
        bundle = load_clip_checkpoint(checkpoint)
    elif name == TINY_CLIP_NAME:
        bundle = tiny_clip()
    else:
        import open_clip

        if name not in open_clip.list_models():
            raise UnlearnkitError(f"unknown open_clip model {name!r} (see open_clip.list_models())")
        try:
            model, pre_train, pre_val = open_clip.create_model_and_transforms(name, pretrained=pretrained or None)
        except RuntimeError as exc:
            raise UnlearnkitError(f"cannot load {name} / {pretrained}: {str(exc).splitlines()[0]}") from exc
        cfg = open_clip.get_model_config(name) or {}
        bundle = ClipBundle(model, pre_train, pre_val, open_clip.get_tokenizer(name), cfg, name)
    bundle.model.to(device).eval()
    return bundle


def save_clip(path: str | Path, bundle: ClipBundle, meta: dict[str, Any] | None = None) -> None:
    """Save weights + config (+ free-form metadata) as one safetensors file, atomically."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in bundle.model.state_dict().items()}
    header = {"open_clip_config": json.dumps(bundle.config), "name": bundle.name,
              "meta": json.dumps(meta or {})}
    atomic_write_bytes(path, save(state, metadata=header))


def load_clip_checkpoint(path: str | Path) -> ClipBundle:
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise UnlearnkitError(f"checkpoint {path} not found")
    try:
        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises several types for a bad header
        raise UnlearnkitError(f"{path} is not a SLUG CLIP checkpoint ({exc})") from exc
    if "open_clip_config" not in header:
        raise UnlearnkitError(f"{path} has no open_clip config in its metadata (not saved by slug)")
    try:
        cfg = json.loads(header["open_clip_config"])
    except json.JSONDecodeError as exc:
        raise UnlearnkitError(f"{path}: its open_clip config is not valid JSON ({exc.msg})") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("vision_cfg", {}), dict):
        raise UnlearnkitError(f"{path}: its open_clip config is not a mapping")
    name = header.get("name", TINY_CLIP_NAME)
    import open_clip

    if name in open_clip.list_models() and not name.startswith(TINY_CLIP_NAME):
        with _quiet_open_clip():
            model, pre_train, pre_val = open_clip.create_model_and_transforms(name, pretrained=None)
        bundle = ClipBundle(model, pre_train, pre_val, open_clip.get_tokenizer(name), cfg, name)
    else:
        try:
            bundle = _build_from_config(name, cfg)
        except (TypeError, ValueError, KeyError) as exc:  # unknown or ill-typed constructor arguments
            raise UnlearnkitError(f"{path}: its open_clip config cannot build a model ({exc})") from None
    missing, unexpected = bundle.model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise UnlearnkitError(f"{path} does not match its config (missing {len(missing)}, unexpected {len(unexpected)})")
    return bundle


def checkpoint_meta(path: str | Path) -> dict[str, Any]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return json.loads((fh.metadata() or {}).get("meta", "{}"))


def encode(model: nn.Module, images: torch.Tensor | None = None, texts: torch.Tensor | None = None):
    """L2-normalised image / text embeddings (either may be None)."""
    img = model.encode_image(images, normalize=True) if images is not None else None
    txt = model.encode_text(texts, normalize=True) if texts is not None else None
    return img, txt

"""Loading local weights into a model, whatever wrapper the checkpoint was saved in."""

from __future__ import annotations

import os

import torch
from torch import nn

from ..errors import UnlearnkitError
from ..io import load_torch

_WRAPPER_KEYS = ("state_dict", "model", "model_state", "model_state_dict", "net", "module")


def unwrap_state_dict(obj) -> dict:
    """Peel the usual ``{"state_dict": ...}`` / ``{"model": ...}`` wrappers and ``module.`` prefixes."""
    while isinstance(obj, dict):
        inner = next((obj[k] for k in _WRAPPER_KEYS if k in obj and isinstance(obj[k], dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict):
        raise UnlearnkitError("checkpoint holds no state dict")
    prefixes = ("module.", "_orig_mod.")
    out = {}
    for key, value in obj.items():
        for p in prefixes:
            if key.startswith(p):
                key = key[len(p):]
        out[key] = value
    return out


def load_checked_state(model: nn.Module, state: dict, source: str, strict: bool = True) -> nn.Module:
    """Load ``state`` into ``model`` after checking it, so a bad file is one line and not a torch traceback.

    Refused: values that are not tensors, missing or unexpected keys (when ``strict``), a tensor whose shape
    differs from the model's (the first such key is named), and NaN or infinite weights.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if strict and (missing or unexpected):
        detail = []
        if missing:
            detail.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            detail.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise UnlearnkitError(f"{source} does not fit this model: keys " + ", ".join(detail))
    for key, value in state.items():
        if key not in own:
            continue
        if not isinstance(value, torch.Tensor):
            raise UnlearnkitError(f"{source}: {key} is a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != tuple(own[key].shape):
            raise UnlearnkitError(f"{source} does not fit this model: {key} has shape {tuple(value.shape)}, "
                                  f"the model expects {tuple(own[key].shape)}")
        if value.is_meta:
            continue  # a shape-only check (checkpoint.load_model's first pass)
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise UnlearnkitError(f"{source} holds NaN or infinite weights (first in {key})")
    if not any(isinstance(v, torch.Tensor) and v.is_meta for v in state.values()):
        model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    return model


def load_weights(model: nn.Module, path: str | os.PathLike, md5: str | None = None, strict: bool = True) -> nn.Module:
    """Load a local checkpoint (``weights_only=True``, md5-checked when given) into ``model``."""
    state = unwrap_state_dict(load_torch(path, md5=md5))
    return load_checked_state(model, state, str(path), strict=strict)

"""Loading local weights into a model, whatever wrapper the checkpoint was saved in."""

from __future__ import annotations

import os

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


def load_weights(model: nn.Module, path: str | os.PathLike, md5: str | None = None, strict: bool = True) -> nn.Module:
    """Load a local checkpoint (``weights_only=True``, md5-checked when given) into ``model``."""
    state = unwrap_state_dict(load_torch(path, md5=md5))
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # tensors of another shape: weights of another architecture or size
        lines = [ln.strip() for ln in str(err).splitlines() if "size mismatch" in ln]
        raise UnlearnkitError(f"{path} does not fit this model: {lines[0] if lines else err}") from None
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if strict and (missing or unexpected):
        detail = []
        if missing:
            detail.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            detail.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise UnlearnkitError(f"{path} does not fit this model: " + ", ".join(detail))
    return model

"""Model checkpoints that carry their own configuration.

A checkpoint holds the model's constructor arguments (``model_config``) beside its weights, plus free-form
``meta`` (data set, forget-request checksum, training config, epoch, metrics). Anyone can rebuild the model
from the file alone, and tools can refuse to compare models trained on different requests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import UnlearnkitError
from .io import load_torch, save_torch

CHECKPOINT_FORMAT = "unlearnkit.model/1"


def _state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    from .distributed import unwrap

    return {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()}


def save_model(path: str | os.PathLike, model: nn.Module, *, meta: dict | None = None,
               train_state: dict | None = None) -> None:
    """Write atomically; ``train_state`` (optimizer, scheduler, RNG) makes the file resumable."""
    from .distributed import unwrap

    config = getattr(unwrap(model), "model_config", None)
    if config is None:
        raise ValueError("model has no model_config: build it with create_model")
    payload: dict[str, Any] = {"format": CHECKPOINT_FORMAT, "model_config": config,
                               "state_dict": _state_dict(model), "meta": meta or {}}
    if train_state is not None:
        payload["train_state"] = train_state
    save_torch(path, payload)


def read_checkpoint(path: str | os.PathLike, md5: str | None = None) -> dict:
    ckpt = load_torch(path, md5=md5)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise UnlearnkitError(f"{path} is not an unlearnkit checkpoint (use load_weights for plain state dicts)")
    return ckpt


def load_model(path: str | os.PathLike, map_location: Any = "cpu", md5: str | None = None) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint describes and load its weights; returns ``(model, meta)``.

    The checkpoint is data: its ``model_config`` may only choose a registered model and that model's allowed
    constructor arguments (``models.model_from_config``), never pretrained weights, files or URLs. The model
    is first built on the ``meta`` device (no memory, no work) so that weights of another shape are refused
    before a large model is allocated.
    """
    from .models import model_from_config
    from .models.weights import load_checked_state

    ckpt = read_checkpoint(path, md5=md5)
    state = ckpt.get("state_dict")
    if not isinstance(state, dict):
        raise UnlearnkitError(f"{path} holds no state dict")
    source = str(path)
    with torch.device("meta"):
        skeleton = model_from_config(ckpt.get("model_config"), source)
    load_checked_state(skeleton, _shape_only(state), source)
    model = model_from_config(ckpt.get("model_config"), source)
    load_checked_state(model, state, source)
    meta = ckpt.get("meta", {})
    return model.to(map_location), meta if isinstance(meta, dict) else {}


def _shape_only(state: dict) -> dict:
    """Meta tensors of the same shapes, for checking keys and shapes against a meta-device model."""
    return {k: torch.empty(v.shape, device="meta") if isinstance(v, torch.Tensor) else v for k, v in state.items()}


def check_same_request(meta: dict, checksum: str, path: str | os.PathLike, *, allow_mismatch: bool = False,
                       role: str = "--reference") -> None:
    """Refuse a model made for another forget request (a retrained reference, an oracle, a teacher).

    A comparison against a model retrained without *other* samples is meaningless, so it is refused in one
    line unless the user explicitly asks (``--allow-mismatch``).
    """
    got = meta.get("request")
    if got == checksum or allow_mismatch:
        return
    what = f"forget request {str(got)[:12]}" if got else "no forget request (an original model)"
    raise UnlearnkitError(f"{role} {path} was trained for {what}, not for request {checksum[:12]}; "
                          "pass --allow-mismatch to compare anyway")


def partial_path(path: str | os.PathLike) -> Path:
    """Where a run that will finish as ``path`` keeps its resumable per-epoch state."""
    return Path(str(path) + ".partial")


def is_complete(path: str | os.PathLike) -> bool:
    """True when ``path`` exists, loads as an unlearnkit checkpoint and says its training completed."""
    if not Path(path).is_file():
        return False
    try:
        ckpt = read_checkpoint(path)
    except UnlearnkitError:
        return False
    return bool(ckpt.get("meta", {}).get("complete")) and "state_dict" in ckpt

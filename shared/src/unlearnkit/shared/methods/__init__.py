"""Unlearning methods: the interface, the registry and the shared baselines."""

from . import baselines  # registers the shared baselines
from .base import (
    ALL_KINDS,
    ENTRY_POINT_GROUP,
    METHODS,
    MethodSpec,
    NoParams,
    UnlearnContext,
    build_params,
    discover_methods,
    freeze_copy,
    get_method,
    list_methods,
    register_method,
    run_method,
)
from .baselines import load_mask, mask_fraction, saliency_mask, saliency_masks, save_mask

__all__ = ["ALL_KINDS", "ENTRY_POINT_GROUP", "METHODS", "MethodSpec", "NoParams", "UnlearnContext", "build_params",
           "baselines", "discover_methods", "freeze_copy", "get_method", "list_methods", "load_mask", "mask_fraction",
           "register_method", "run_method", "saliency_mask", "saliency_masks", "save_mask"]

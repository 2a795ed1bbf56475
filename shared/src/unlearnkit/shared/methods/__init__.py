"""Unlearning methods: the interface, the registry and the shared baselines."""

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

__all__ = ["ALL_KINDS", "ENTRY_POINT_GROUP", "METHODS", "MethodSpec", "NoParams", "UnlearnContext", "build_params",
           "discover_methods", "freeze_copy", "get_method", "list_methods", "register_method", "run_method"]

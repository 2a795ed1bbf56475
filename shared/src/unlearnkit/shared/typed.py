"""Turn command-line strings into typed values from a dataclass's type hints.

``--param epochs=2.7`` must not become 2, ``cache_features=ture`` must not become False, and ``target=0.05``
must become a float: every method's hyper-parameters are a dataclass, so its type hints say what each value is.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

from .errors import UnlearnkitError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _fail(name: str, expected: str, text: str) -> UnlearnkitError:
    return UnlearnkitError(f"parameter {name!r} expects {expected}, got {text!r}")


def coerce(text: Any, hint: Any, name: str = "value") -> Any:
    """Parse ``text`` as ``hint`` (int, float, bool, str, Literal, Optional, tuple/list of those)."""
    if not isinstance(text, str):
        return text
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if type(None) in args and text.strip().lower() in ("none", "null", ""):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(text, arg, name)
            except UnlearnkitError as err:
                errors.append(str(err))
        raise _fail(name, " or ".join(_describe(a) for a in args), text)
    if origin is Literal:
        for choice in args:
            try:
                if coerce(text, type(choice), name) == choice:
                    return choice
            except UnlearnkitError:
                continue
        raise _fail(name, "one of " + ", ".join(map(str, args)), text)
    if origin in (tuple, list):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            items = [coerce(p, args[0], name) for p in parts]
        elif origin is tuple and args:
            if len(parts) != len(args):
                raise _fail(name, f"{len(args)} comma-separated values", text)
            items = [coerce(p, a, name) for p, a in zip(parts, args, strict=True)]
        else:
            items = [coerce(p, args[0] if args else str, name) for p in parts]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _fail(name, "true/false (or 1/0, yes/no)", text)
    if hint is int:
        try:
            return int(text.strip())
        except ValueError:
            raise _fail(name, "an integer", text) from None
    if hint is float:
        try:
            value = float(text.strip())
        except ValueError:
            raise _fail(name, "a number", text) from None
        if not math.isfinite(value):
            raise _fail(name, "a finite number", text)
        return value
    if hint in (str, Any) or hint is None:
        return text
    raise _fail(name, _describe(hint), text)


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))


def coerce_fields(cls: type, overrides: Mapping[str, Any], owner: str = "") -> dict[str, Any]:
    """Typed keyword arguments for dataclass ``cls`` from string (or already typed) overrides."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        key = key.replace("-", "_")
        if key not in fields:
            who = f"{owner!r} " if owner else ""
            raise UnlearnkitError(f"{who}has no parameter {key!r}; it has: {', '.join(fields) or 'none'}")
        out[key] = coerce(value, hints.get(key, str), key)
    return out

"""Forget requests named on the command line: ``class:3``, ``class:3,5``, ``random:0.1``, ``random:50``,
``subclass:1:0.1[:last]``, ``indices:FILE`` or the path of a saved request."""

from __future__ import annotations

from pathlib import Path

from ..data import ForgetRequest, LabeledDataset
from ..errors import UnlearnkitError

DEFAULT_REQUESTS = ("class:3", "random:0.1")


def parse_request(spec: str, train: LabeledDataset, seed: int = 0) -> ForgetRequest:
    if Path(spec).suffix == ".json" and Path(spec).exists():
        return ForgetRequest.load(spec, dataset=train.info.name, dataset_size=len(train))
    kind, _, rest = spec.partition(":")
    try:
        if kind == "class":
            return ForgetRequest.for_classes(train, [int(c) for c in rest.split(",")])
        if kind == "random":
            value = float(rest)
            if value < 1 or "." in rest:
                return ForgetRequest.random(train, fraction=value, seed=seed)
            return ForgetRequest.random(train, count=int(value), seed=seed)
        if kind == "subclass":
            parts = rest.split(":")
            pick = parts[2] if len(parts) > 2 else "random"
            return ForgetRequest.subclass(train, int(parts[0]), float(parts[1]), pick=pick, seed=seed)
        if kind == "indices":
            return ForgetRequest.from_index_file(train, rest)
    except (ValueError, IndexError):
        pass
    raise UnlearnkitError(
        f"cannot read request {spec!r}; use class:3, random:0.1, random:50, subclass:1:0.1[:last], "
        "indices:FILE or a saved request .json")

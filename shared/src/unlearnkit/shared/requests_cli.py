"""Building a forget request from command-line choices (shared by every package's CLI)."""

from __future__ import annotations

from pathlib import Path

from .data import ForgetRequest, load_dataset
from .errors import UnlearnkitError
from .registry import Registry

_BUILDERS: Registry = Registry("request kind")
_BUILDERS.register("class", lambda tr, a: ForgetRequest.for_classes(tr, a["classes"]))
_BUILDERS.register("random", lambda tr, a: ForgetRequest.random(tr, a["fraction"], a["count"], a["seed"]))
_BUILDERS.register("subclass", lambda tr, a: ForgetRequest.subclass(
    tr, _one_class(a["classes"]), a["fraction"] if a["fraction"] is not None else 0.1, a["pick"], a["seed"]))
_BUILDERS.register("indices", lambda tr, a: ForgetRequest.from_index_file(tr, _need_file(a["index_file"])))


def _one_class(classes: list[int]) -> int:
    if len(classes) != 1:
        raise UnlearnkitError("a subclass request names exactly one class (--classes N)")
    return classes[0]


def _need_file(path: Path | None) -> Path:
    if path is None:
        raise UnlearnkitError("an indices request needs --index-file")
    return path


def build_request(data: str, kind: str, classes: list[int], fraction: float | None, count: int | None,
                  pick: str, index_file: Path | None, seed: int, root=None, download: bool = False) -> ForgetRequest:
    builder = _BUILDERS.get(kind)
    train = load_dataset(data, "train", root=root, download=download)
    if kind == "random" and fraction is None and count is None:
        fraction = 0.1
    return builder(train, {"classes": classes, "fraction": fraction, "count": count, "pick": pick,
                           "index_file": index_file, "seed": seed})

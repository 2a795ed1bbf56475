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


_SPEC_HELP = "use class:3, class:3,5, random:0.1, random:50, subclass:1:0.1[:last], indices:FILE or a request .json"


def validate_request_spec(spec: str) -> None:
    """Check a bench request spec (``class:3``, ``random:0.1``, ``subclass:1:0.1:last``, ``indices:FILE``, a
    request ``.json``) without loading any data, so a typo is one line before the first model is trained.

    The data-dependent checks (class ids in range, counts below the data set size) follow when the request is
    built; this catches everything that does not need the data.
    """
    import math

    def bad(why: str) -> UnlearnkitError:
        return UnlearnkitError(f"request {spec!r}: {why}; {_SPEC_HELP}")

    text = str(spec).strip()
    if text.endswith(".json"):
        if not Path(text).is_file():
            raise UnlearnkitError(f"request file not found: {text}")
        return
    kind, _, rest = text.partition(":")
    if kind == "class":
        ids = rest.split(",")
        if not rest or not all(i.strip().isdigit() for i in ids):
            raise bad("class ids must be integers >= 0")
        return
    if kind == "random":
        try:
            value = float(rest)
        except ValueError:
            raise bad("expected a fraction in (0, 1) or a count >= 1") from None
        fraction = "." in rest or value < 1
        if not math.isfinite(value) or value <= 0 or (fraction and value > 1):
            raise bad(f"{rest} is neither a fraction in (0, 1] nor a count >= 1")
        return
    if kind == "subclass":
        parts = rest.split(":")
        if len(parts) not in (2, 3) or not parts[0].isdigit():
            raise bad("expected subclass:CLASS:FRACTION[:random|last]")
        try:
            fraction = float(parts[1])
        except ValueError:
            raise bad(f"fraction {parts[1]!r} is not a number") from None
        if not (math.isfinite(fraction) and 0 < fraction <= 1):
            raise bad(f"fraction {parts[1]} is not in (0, 1]")
        if len(parts) == 3 and parts[2] not in ("random", "last"):
            raise bad(f"pick {parts[2]!r} is not random or last")
        return
    if kind == "indices":
        if not rest or not Path(rest).is_file():
            raise UnlearnkitError(f"index file not found: {rest or '(none given)'}")
        return
    raise bad(f"unknown kind {kind!r}")

"""Which classes to forget: explicit ids, seeded ``randomN`` lists, or a list file.

The paper forgets 100/200/300 ImageNet classes named by files (``random100.txt``, ``top100_cub.txt``...).
Every entry point takes one string so that the CLI, the benchmark and the tests agree on its meaning:

- ``"3,7"`` or ``"3 7"``: class ids;
- ``"random100"`` (optionally ``"random100@seed"``): 100 distinct classes drawn with a fixed seed;
- a path to a text file: ids (or class names) separated by newlines, commas or spaces; ``#`` comments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import atomic_write_text

__all__ = ["random_class_list", "read_class_list", "write_class_list", "resolve_classes"]

_RANDOM = re.compile(r"^random_?(\d+)(?:@(\d+))?$", re.IGNORECASE)


def random_class_list(num_classes: int, count: int, seed: int = 0) -> list[int]:
    """``count`` distinct class ids out of ``num_classes``, reproducible from ``seed``, in draw order.

    Draw order (not sorted) mirrors the published lists, whose first k entries form a smaller nested
    request: ``random200[:100]`` with the same seed is ``random100``.
    """
    if not 0 < count <= num_classes:
        raise UnlearnkitError(f"cannot pick {count} classes out of {num_classes}")
    rng = np.random.default_rng(seed)
    return [int(c) for c in rng.permutation(num_classes)[:count]]


def _tokens(text: str) -> list[str]:
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return [t for line in lines for t in re.split(r"[,\s]+", line) if t]


def read_class_list(path: str | Path, class_names: Sequence[str] | None = None) -> list[int]:
    """Read class ids (or names, mapped through ``class_names``) from a text file; duplicates are errors
    because a doubled id usually means a list was pasted twice."""
    path = Path(path)
    if not path.is_file():
        raise UnlearnkitError(f"class list file not found: {path}")
    names = {n: i for i, n in enumerate(class_names or [])}
    out: list[int] = []
    for tok in _tokens(path.read_text()):
        if re.fullmatch(r"-?\d+", tok):
            out.append(int(tok))
        elif tok in names:
            out.append(names[tok])
        else:
            raise UnlearnkitError(f"{path}: {tok!r} is neither a class id nor a known class name")
    if not out:
        raise UnlearnkitError(f"{path} lists no classes")
    dupes = sorted({c for c in out if out.count(c) > 1})
    if dupes:
        raise UnlearnkitError(f"{path} lists classes more than once: {dupes[:10]}")
    return out


def write_class_list(path: str | Path, classes: Sequence[int]) -> Path:
    """One id per line, the published format, so lists made here are readable by the original scripts."""
    return atomic_write_text(path, "".join(f"{int(c)}\n" for c in classes))


def _check_range(classes: list[int], num_classes: int) -> list[int]:
    bad = [c for c in classes if not 0 <= c < num_classes]
    if bad:
        raise UnlearnkitError(f"class ids out of range 0..{num_classes - 1}: {bad[:10]}")
    if len(set(classes)) != len(classes):
        raise UnlearnkitError(f"class ids repeated in {classes}")
    if len(classes) >= num_classes:
        raise UnlearnkitError("cannot forget every class: nothing would be left to retain")
    return classes


def resolve_classes(spec: str | Sequence[int], num_classes: int, class_names: Sequence[str] | None = None) -> list[int]:
    """Turn any accepted class specification into a validated list of ids (see the module docstring)."""
    if not isinstance(spec, str):
        return _check_range([int(c) for c in spec], num_classes)
    text = spec.strip()
    if not text:
        raise UnlearnkitError("no classes given to forget")
    m = _RANDOM.match(text)
    if m:
        return _check_range(random_class_list(num_classes, int(m.group(1)), int(m.group(2) or 0)), num_classes)
    if re.fullmatch(r"[\d,\s]+", text):
        return _check_range([int(t) for t in re.split(r"[,\s]+", text) if t], num_classes)
    if Path(text).exists():
        return _check_range(read_class_list(text, class_names), num_classes)
    if class_names and all(t in class_names for t in re.split(r"[,\s]+", text) if t):
        return _check_range([list(class_names).index(t) for t in re.split(r"[,\s]+", text) if t], num_classes)
    raise UnlearnkitError(f"cannot read classes from {spec!r}: give ids like '3,7', 'random100' or a list file")

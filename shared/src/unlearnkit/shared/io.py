"""Atomic, safe file handling.

Every checkpoint, forget request and result goes through these helpers: a crash mid-write leaves either the
old file or the new one, never half of one, and loading never unpickles arbitrary objects.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import math
import os
import pickle
import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .errors import ChecksumError, UnlearnkitError


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Write through ``write(fileobj)`` into a temp file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the user's usual permissions
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda fh: fh.write(text), mode="w")


def save_json(path: str | os.PathLike, obj: Any) -> Path:
    """Strict JSON (NaN and infinities become null) so that any parser, not only Python's, reads it."""
    text = json.dumps(_finite(obj), indent=2, sort_keys=True, default=_json_default, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, torch.Tensor) and obj.numel() == 1 and obj.is_floating_point():
        return _finite(obj.item())
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def load_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise UnlearnkitError(f"file not found: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UnlearnkitError(f"{path} is not valid JSON ({err.msg} at line {err.lineno})") from None


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line; a line is small enough that a torn write only ever loses the last record."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(record, sort_keys=True, default=_json_default) + "\n")


def save_torch(path: str | os.PathLike, obj: Any) -> Path:
    buf = _io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_torch(path: str | os.PathLike, md5: str | None = None, map_location: Any = "cpu") -> Any:
    """Load a torch file with ``weights_only=True`` after checking that it exists (and its md5 if given)."""
    path = Path(path)
    if not path.is_file():
        raise UnlearnkitError(f"file not found: {path}")
    if md5:
        verify_md5(path, md5)
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols before refusing them
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for corrupt or unsafe files
        raise UnlearnkitError(describe_load_error(path, err)) from None


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def describe_load_error(path: str | os.PathLike, err: BaseException) -> str:
    """Our own one line for a torch file that cannot be loaded.

    torch's message for a refused pickle advises ``weights_only=False``, which would run the file's code: we
    never repeat it, and name the global the pickle asked for, which is what shows a file is hostile.
    """
    text = str(err)
    if isinstance(err, pickle.UnpicklingError) or "Weights only load failed" in text:
        m = _GLOBAL.search(text)
        if m:
            return (f"refused: the pickle in {path} references {m.group(1)}, which weights-only loading does not "
                    "allow")
        detail = text.split("WeightsUnpickler error:")[-1].split("Check the documentation")[0] \
            if "WeightsUnpickler error:" in text else ""
        detail = " ".join(detail.split())[:120]
        return (f"refused: the pickle in {path} holds something weights-only loading does not allow"
                + (f" ({detail})" if detail else ""))
    if "zip archive" in text or "central directory" in text or isinstance(err, (EOFError, KeyError)):
        return f"cannot load {path}: not a PyTorch file, or a truncated one"
    first = " ".join(text.split(". ")[0].split()) if text.strip() else type(err).__name__
    return f"cannot load {path}: {first[:200]}"


def file_md5(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_md5(path: str | os.PathLike, expected: str) -> None:
    got = file_md5(path)
    if got.lower() != expected.lower():
        raise ChecksumError(f"md5 of {path} is {got}, expected {expected}: the file is corrupt or not the one named")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_writable(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Refuse to replace a user's file unless asked: raise if ``path`` exists and ``overwrite`` is False."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise UnlearnkitError(f"{path} already exists; pass --overwrite to replace it")
    if path.is_dir():
        raise UnlearnkitError(f"{path} is a directory, expected a file path")
    return path

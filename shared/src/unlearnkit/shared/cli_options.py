"""The one vocabulary of every unlearnkit CLI (docs/cli.md), as option factories with validation built in.

Every package CLI builds its options from these, so ``--out/-o`` is always what a command writes,
``--checkpoint`` the model file it acts on, ``--model`` an architecture name, and a learning rate of ``nan`` or
an epoch count of 0 is refused in one line at the boundary, before any work::

    out: Annotated[Path, out_option("Checkpoint to write.")] = Path("runs/original.pt"),
    epochs: Annotated[int, epochs_option()] = 30,

Named roles beside ``--checkpoint`` (``--reference`` for the retrained model, ``--teacher``, ``--mask``) use
:func:`path_option`. The authors' own flag names are hidden aliases (``cli_utils.flag_aliases``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import typer

# The canonical flags; tests/test_cli_vocabulary.py checks every command of every app against them.
VOCABULARY: dict[str, str] = {
    "--out": "what the command writes (file or folder); short -o",
    "--checkpoint": "the model file the command acts on",
    "--reference": "the retrained (gold standard) model file",
    "--model": "an architecture name (as timm and open_clip use it)",
    "--data": "a registered data set name",
    "--data-root": "the folder holding the data set's files",
    "--download": "download the data set if missing (network)",
    "--classes": "class ids, e.g. 3 or 3,5",
    "--request": "a forget request file",
    "--epochs": "training epochs (>= 1)",
    "--batch-size": "batch size (>= 1)",
    "--lr": "learning rate (finite, > 0)",
    "--seed": "random seed (>= 0, default 0)",
    "--device": "cpu, cuda, cuda:N, mps or auto (default auto)",
    "--overwrite": "replace existing outputs (never deletes anything else)",
    "--version": "print versions and exit",
    "--quiet": "no progress bars or tables; results only",
    "--param": "typed method hyper-parameter key=value (repeatable); short -p",
    "--threads": "CPU threads for PyTorch (>= 1)",
}

# Flags whose meaning the vocabulary fixes: no command may use them for anything else, and none of the
# discouraged spellings may appear in --help (they survive as hidden aliases only).
DISCOURAGED: dict[str, str] = {
    "--out-dir": "--out", "--output": "--out", "--save-dir": "--out", "--work-dir": "--out",
    "--model-path": "--checkpoint", "--dataset": "--data", "--base-dir": "--data-root",
    "--test-dataset": "--data", "--class": "--classes", "--forget-class": "--classes",
    "--class-to-replace": "--classes", "--ids": "--classes", "--bsize": "--batch-size",
    "--model-type": "--model",
}

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _bad(value: Any, rule: str) -> typer.BadParameter:
    return typer.BadParameter(f"{value!r} is not allowed: {rule}")


def check_positive_int(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise _bad(value, "must be an integer >= 1")
    return value


def check_nonneg_int(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise _bad(value, "must be an integer >= 0")
    return value


def check_positive_float(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise _bad(value, "must be a finite number > 0")
    return value


def check_nonneg_float(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise _bad(value, "must be a finite number >= 0")
    return value


def check_fraction(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and 0 < value <= 1):
        raise _bad(value, "must be a fraction in (0, 1]")
    return value


def check_unit_interval(value: float | None) -> float | None:
    """[0, 1): label smoothing, dropout-like rates."""
    if value is not None and not (math.isfinite(value) and 0 <= value < 1):
        raise _bad(value, "must be a number in [0, 1)")
    return value


def check_device(value: str | None) -> str | None:
    if value is not None and not _DEVICE.match(value.strip()):
        raise _bad(value, "use auto, cpu, cuda, cuda:N or mps")
    return value


def out_option(help: str = "Where to write the result.", **kw: Any) -> Any:
    return typer.Option("--out", "-o", help=help, **kw)


def checkpoint_option(help: str = "The model checkpoint to act on.", **kw: Any) -> Any:
    return typer.Option("--checkpoint", help=help, **kw)


def path_option(flag: str, help: str, **kw: Any) -> Any:
    """A named-role model or file input (``--reference``, ``--teacher``, ``--mask``, ``--request``)."""
    return typer.Option(flag, help=help, **kw)


def model_option(help: str = "Architecture name (see `unlearnkit models`).", **kw: Any) -> Any:
    return typer.Option("--model", help=help, **kw)


def data_option(help: str = "Data set name (see `unlearnkit datasets`).", **kw: Any) -> Any:
    return typer.Option("--data", help=help, **kw)


def data_root_option(help: str = "Folder holding the data set's files.", **kw: Any) -> Any:
    return typer.Option("--data-root", help=help, **kw)


def download_option(help: str = "Download the data set if missing (needs network).", **kw: Any) -> Any:
    return typer.Option("--download", help=help, **kw)


def classes_option(help: str = "Class ids to forget, e.g. 3 or 3,5.", **kw: Any) -> Any:
    return typer.Option("--classes", help=help, **kw)


def request_option(help: str = "Forget request file (from `unlearnkit request`).", **kw: Any) -> Any:
    return typer.Option("--request", "-r", help=help, **kw)


def epochs_option(help: str = "Training epochs (>= 1).", **kw: Any) -> Any:
    return typer.Option("--epochs", help=help, callback=check_positive_int, **kw)


def batch_size_option(help: str = "Batch size (>= 1).", **kw: Any) -> Any:
    return typer.Option("--batch-size", help=help, callback=check_positive_int, **kw)


def lr_option(help: str = "Learning rate (finite, > 0).", **kw: Any) -> Any:
    return typer.Option("--lr", help=help, callback=check_positive_float, **kw)


def seed_option(help: str = "Random seed (>= 0).", **kw: Any) -> Any:
    return typer.Option("--seed", help=help, callback=check_nonneg_int, **kw)


def device_option(help: str = "cpu, cuda, cuda:N, mps or auto (GPU when available).", **kw: Any) -> Any:
    return typer.Option("--device", help=help, callback=check_device, **kw)


def overwrite_option(help: str = "Replace existing outputs (never deletes anything else).", **kw: Any) -> Any:
    return typer.Option("--overwrite", help=help, **kw)


def quiet_option(help: str = "No progress bars or tables; print results only.", **kw: Any) -> Any:
    return typer.Option("--quiet", "-q", help=help, **kw)


def threads_option(help: str = "CPU threads for PyTorch (>= 1; default: chosen for the model size).",
                   **kw: Any) -> Any:
    return typer.Option("--threads", help=help, callback=check_positive_int, **kw)


def param_option(help: str = "Typed hyper-parameter key=value (repeatable).", **kw: Any) -> Any:
    return typer.Option("--param", "-p", help=help, **kw)


def parse_key_values(items: list[str] | None, nested: bool = False) -> dict:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}`` (``nested``: ``method.key=value``); values stay strings
    for the params dataclass to type (``unlearnkit.shared.typed``)."""
    from .errors import UnlearnkitError

    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UnlearnkitError(f"--param expects key=value, got {item!r}")
        if nested:
            method, dot, name = key.partition(".")
            if not dot or not name:
                raise UnlearnkitError(f"--param expects method.key=value, got {item!r}")
            out.setdefault(method, {})[name] = value
        else:
            out[key] = value
    return out

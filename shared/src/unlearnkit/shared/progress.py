"""One progress-bar style for every long loop in unlearnkit.

Bars go to stderr (stdout stays clean for tables and JSON), only on the main rank, and only when stderr is a
terminal unless asked otherwise; tests and benchmarks pass ``enabled=False``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from . import distributed as dist

_QUIET = {"on": False}


def set_quiet(quiet: bool = True) -> None:
    """``--quiet``: no progress bar anywhere in this process, whatever the terminal."""
    _QUIET["on"] = bool(quiet)


def is_quiet() -> bool:
    return _QUIET["on"]


def _fields_text(fields: dict) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())


@contextmanager
def progress_bar(description: str, total: int | None = None, *,
                 enabled: bool | None = None) -> Iterator[Callable[..., None]]:
    """Yield ``advance(n=1, **fields)``; a no-op when disabled, off the main rank, or without a terminal."""
    from rich.console import Console

    console = Console(stderr=True)
    show = (console.is_terminal and not is_quiet() if enabled is None else enabled) and dist.is_main() and total != 0
    if not show:
        yield lambda n=1, **_: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[info]}"), console=console, transient=True) as prog:
        task = prog.add_task(description, total=total, info="")

        def advance(n: int = 1, **fields) -> None:
            prog.update(task, advance=n, info=_fields_text(fields))

        yield advance

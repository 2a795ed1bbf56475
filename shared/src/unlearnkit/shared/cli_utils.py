"""Typer helpers shared by every unlearnkit CLI.

All package CLIs are built with :func:`make_app` so they behave the same way: ``UnlearnkitError`` becomes
``Error: <message>`` with exit code 2 (also under ``typer.testing.CliRunner``), no rich tracebacks.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from typer.core import TyperGroup

from .errors import UnlearnkitError

EXIT_USER_ERROR = 2


class _Group(TyperGroup):
    """A command group that reports :class:`UnlearnkitError` as a one-line CLI error."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UnlearnkitError as err:
            # typer vendors its own click, so only typer's public Exit is reliably honoured.
            typer.echo(f"Error: {err}", err=True)
            raise typer.Exit(EXIT_USER_ERROR) from None

    def list_commands(self, ctx: Any) -> list[str]:
        # Keep the order in which commands were declared: it tells the workflow.
        return list(self.commands)


def make_app(name: str, help: str) -> typer.Typer:
    """A Typer app with unlearnkit's error handling and no rich tracebacks."""
    return typer.Typer(
        name=name,
        help=help,
        cls=_Group,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode="rich",
    )


def run_app(app: typer.Typer) -> None:
    """Console-script entry: run the app; user errors already exit with code 2."""
    app()


def echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def parse_int_list(text: str | None) -> list[int]:
    """Parse '3', '3,5' or '3 5' into integers, with a clear error for anything else."""
    if text is None or not str(text).strip():
        return []
    parts = str(text).replace(",", " ").split()
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise UnlearnkitError(f"expected a list of integers like '3,5', got {text!r}") from None

"""Typer helpers shared by every unlearnkit CLI.

All package CLIs are built with :func:`make_app` so they behave the same way:

- a user error is ONE line on stderr, ``Error: <message>``, exit code 2, no traceback: an
  :class:`UnlearnkitError` from the library, a bad flag value or unknown option from the parser, an
  operating-system error on a path (read-only folder, file where a folder is expected);
- anything else (a bug) is also one line, exit code 1, with the traceback only under ``UNLEARNKIT_DEBUG=1``;
- ``--version`` on every app prints the versions of the app's distribution and of the shared core;
- the authors' own flag names live on as hidden aliases (:func:`flag_aliases`), so their commands keep working
  while ``--help`` shows one vocabulary (docs/cli.md).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import typer
from typer.core import TyperGroup

from .errors import UnlearnkitError

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1
ALIASES_ATTR = "__unlearnkit_aliases__"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error(message: str, code: int) -> typer.Exit:
    typer.echo(f"Error: {_one_line(message)}", err=True)
    return typer.Exit(code)


def _click_exception_types() -> tuple[type, ...]:
    from typer import _click  # typer vendors click; its exceptions are the ones raised here

    return (_click.exceptions.ClickException,)


class _Group(TyperGroup):
    """A command group with unlearnkit's error policy and hidden flag aliases."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        from typer import _click

        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                              **extra)
        except _click.exceptions.NoArgsIsHelpError:
            sys.exit(0)  # the help was printed while the error was built
        except _click.exceptions.ClickException as err:
            hint = ""
            ctx = getattr(err, "ctx", None)
            if ctx is not None and isinstance(err, _click.exceptions.UsageError):
                hint = f" (see '{ctx.command_path} --help')"
            got = _given_value(args, err)
            typer.echo(f"Error: {_one_line(err.format_message())}{got}{hint}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(EXIT_INTERNAL_ERROR)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, *_click_exception_types()):
            raise
        except UnlearnkitError as err:
            raise _error(str(err), EXIT_USER_ERROR) from None
        except OSError as err:  # read-only folder, file where a folder is expected, disk full, ...
            where = f" {err.filename}" if getattr(err, "filename", None) else ""
            raise _error(f"{err.strerror or err}:{where}" if err.strerror else str(err), EXIT_USER_ERROR) from None
        except KeyboardInterrupt:
            raise _error("interrupted", 130) from None
        except Exception as err:
            if os.environ.get("UNLEARNKIT_DEBUG"):
                raise
            first = _one_line(str(err).splitlines()[0]) if str(err).strip() else ""
            raise _error(f"internal error: {type(err).__name__}: {first} "
                         "(rerun with UNLEARNKIT_DEBUG=1 for the traceback, and please report it)",
                         EXIT_INTERNAL_ERROR) from None

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, cmd, rest = super().resolve_command(ctx, args)
        aliases = getattr(getattr(cmd, "callback", None), ALIASES_ATTR, None)
        if aliases:
            rest = rewrite_aliases(rest, aliases)
        return name, cmd, rest

    def list_commands(self, ctx: Any) -> list[str]:
        # Keep the order in which commands were declared: it tells the workflow.
        return list(self.commands)


def _given_value(args: Any, err: Exception) -> str:
    """`` (got 'VALUE')`` for a bad option value whose message does not name it (typer's own int/float
    conversion errors do not), so that every error line names the bad value."""
    param = getattr(err, "param", None)
    opts = list(getattr(param, "opts", []) or []) + list(getattr(param, "secondary_opts", []) or [])
    tokens = list(sys.argv[1:] if args is None else args)
    for i, tok in enumerate(tokens):
        flag, eq, value = str(tok).partition("=")
        if flag in opts and (eq or i + 1 < len(tokens)):
            value = value if eq else str(tokens[i + 1])
            return "" if value in err.format_message() else f" (got {value!r})"
    return ""


def rewrite_aliases(args: list[str], aliases: Mapping[str, str]) -> list[str]:
    """Replace hidden alias flags (``--model-path X``, ``--bsize=8``) with their canonical names."""
    out = []
    for tok in args:
        if tok == "--":
            out.extend(args[len(out):])
            break
        flag, eq, value = tok.partition("=")
        if flag in aliases:
            tok = aliases[flag] + (eq + value if eq else "")
        out.append(tok)
    return out


def flag_aliases(aliases: Mapping[str, str]) -> Callable[[Callable], Callable]:
    """Decorate a command (below ``@app.command``) to accept the authors' flag names as hidden aliases.

    ``@flag_aliases({"--model-path": "--checkpoint", "--bsize": "--batch-size"})``: the aliases never show in
    ``--help``; docs/cli.md lists them.
    """

    def deco(fn: Callable) -> Callable:
        setattr(fn, ALIASES_ATTR, {**getattr(fn, ALIASES_ATTR, {}), **aliases})
        return fn

    return deco


def distribution_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown (not installed)"


def make_app(name: str, help: str, *, dist: str | None = "unlearnkit-shared") -> typer.Typer:
    """A Typer app with unlearnkit's error policy, no rich tracebacks, and ``--version``.

    ``dist`` is the distribution whose version ``--version`` prints (the package's own), beside the core's.
    Pass ``dist=None`` for sub-apps (``slug data``) that must not register their own callback.
    """
    app = typer.Typer(
        name=name,
        help=help,
        cls=_Group,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode="rich",
    )
    if dist is not None:
        def _version(value: bool) -> None:
            if value:
                versions = {dist: distribution_version(dist)}
                versions.setdefault("unlearnkit-shared", distribution_version("unlearnkit-shared"))
                typer.echo(f"{name} " + ", ".join(f"{d} {v}" for d, v in versions.items()))
                raise typer.Exit(0)

        @app.callback()
        def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                               help="Print the version and exit.")) -> None:
            pass

        _root.__doc__ = help
    return app


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

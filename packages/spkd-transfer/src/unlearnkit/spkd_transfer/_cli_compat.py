"""Local workaround (reported to the core): make user errors exit with code 2 under typer >= 0.29.

Typer 0.29 vendors its own copy of click (``typer._click``) and only catches *that* copy's
``ClickException``; the core's ``make_app`` raises the installed click's, which then escapes as a traceback
with exit code 1. This group re-raises both as the vendored kind. Harmless once the core is fixed.
"""

from __future__ import annotations

import click
import typer
from unlearnkit.shared.errors import UnlearnkitError

try:  # typer >= 0.29
    from typer._click.exceptions import ClickException as _VendoredClickException
except ImportError:  # older typer uses the installed click directly
    _VendoredClickException = click.ClickException

__all__ = ["patch_app"]


class _UserError(_VendoredClickException):
    exit_code = 2


def patch_app(app: typer.Typer) -> typer.Typer:
    """Wrap the app's group class so UnlearnkitError and foreign ClickExceptions exit 2 with one line."""
    base = app.info.cls
    if base is None or getattr(base, "_spkd_patched", False):
        return app

    class Group(base):  # type: ignore[misc, valid-type]
        _spkd_patched = True

        def invoke(self, ctx):
            try:
                return super().invoke(ctx)
            except UnlearnkitError as err:
                raise _UserError(str(err)) from None
            except click.ClickException as err:
                if isinstance(err, _VendoredClickException):
                    raise
                raise _UserError(err.format_message()) from None

    app.info.cls = Group
    return app

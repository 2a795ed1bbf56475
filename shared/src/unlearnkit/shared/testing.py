"""Assertions for the contract every unlearnkit CLI keeps with a careless or hostile user.

The core's and every package's hostile-input tests check the same thing: a bad value, path or file ends in
exit code 2 and ONE ``Error:`` line naming it, with no traceback, no advice to unpickle unsafely, and every
file that existed before left byte-identical. One implementation, so that the contract cannot drift apart
between packages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def tree_md5(folder: str | Path) -> dict[str, str]:
    """md5 of every file below ``folder``, by relative path: compare before and after a command."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_refused(app: Any, folder: str | Path, args: Sequence[Any], *needles: str, runner: Any = None) -> str:
    """Invoke ``app`` with ``args`` and assert the contract above; returns the error line."""
    from typer.testing import CliRunner

    before = tree_md5(folder)
    res = (runner or CliRunner()).invoke(app, [str(a) for a in args])
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2, res.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in res.output and "weights_only=False" not in res.output, res.output
    assert tree_md5(folder) == before, "a pre-existing file changed"
    return lines[0]


class HostilePickle:
    """An object whose unpickling runs ``touch marker``: what a checkpoint must never be able to do.

    Save it inside a torch file (``torch.save({"state_dict": HostilePickle(p)}, f)``); a safe loader refuses
    the file and ``marker`` never appears.
    """

    def __init__(self, marker: str | Path):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))

"""Regenerate docs/cli.md from the installed apps: `uv run python tools/gen_cli_docs.py` (`--check`: exit 1
when docs/cli.md is out of date, without writing)."""

from __future__ import annotations

import sys
from pathlib import Path

from unlearnkit.shared.cli_docs import render_markdown, write_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def main(argv: list[str]) -> int:
    if "--check" in argv:
        current = DOC.read_text() if DOC.is_file() else ""
        if current != render_markdown():
            print(f"{DOC} is out of date: run `uv run python tools/gen_cli_docs.py`", file=sys.stderr)
            return 1
        print(f"{DOC} is up to date")
        return 0
    print(f"{DOC} {'written' if write_markdown(DOC) else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

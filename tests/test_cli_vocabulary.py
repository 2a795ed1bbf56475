"""One vocabulary across every unlearnkit CLI (docs/cli.md), checked on every command of every installed app.

The apps are found through the console-script entry points of the installed unlearnkit distributions, so a new
package's CLI is checked without being listed here. Failures name the app, command and flag.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from unlearnkit.shared.cli_docs import describe_apps, render_markdown
from unlearnkit.shared.cli_options import DISCOURAGED

APPS = describe_apps()
COMMANDS = [cmd for app in APPS for cmd in app.commands]
DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

# Canonical flags whose values are numbers or devices: each must be checked where it is parsed.
CHECKED = ("--epochs", "--batch-size", "--lr", "--seed", "--device", "--threads", "--seeds")
# Model-file roles: a path option named like a model is one of these (never --model, which is an architecture).
MODEL_FILE_ROLES = {"--checkpoint", "--reference", "--teacher", "--mask", "--original", "--init", "--out"}


def _ids(cmds):
    return [c.path for c in cmds]


def test_apps_are_found():
    scripts = {app.script for app in APPS}
    assert "unlearnkit" in scripts
    assert COMMANDS


@pytest.mark.parametrize("app", APPS, ids=[a.script for a in APPS])
def test_every_app_has_version(app):
    assert any("--version" in o.flags for o in app.root_options), f"{app.script} has no --version"


@pytest.mark.parametrize("cmd", COMMANDS, ids=_ids(COMMANDS))
def test_command_follows_the_vocabulary(cmd):
    problems = []
    visible = [o for o in cmd.options if not o.hidden and not o.positional]
    flags = {f for o in visible for f in o.flags}
    for flag in sorted(flags & set(DISCOURAGED)):
        problems.append(f"{flag} is discouraged: use {DISCOURAGED[flag]} (keep {flag} as a hidden alias)")
    for opt in visible:
        if "--out" in opt.flags and "-o" not in opt.flags:
            problems.append("--out has no -o")
        if "--param" in opt.flags and "-p" not in opt.flags:
            problems.append("--param has no -p")
        if opt.long == "--device" and opt.default != "auto":
            problems.append(f"--device defaults to {opt.default!r}, not 'auto'")
        if opt.long == "--seed" and opt.default not in (0, None):
            problems.append(f"--seed defaults to {opt.default!r}, not 0")
        if opt.long in CHECKED and not opt.has_check:
            problems.append(f"{opt.long} is not validated where it is parsed (use the cli_options factory)")
        if opt.long == "--model" and opt.type_name == "path":
            problems.append("--model is a file here: a model file is --checkpoint, --model an architecture name")
        if (opt.type_name == "path" and any(w in opt.long for w in ("model", "ckpt", "checkpoint"))
                and opt.long not in MODEL_FILE_ROLES):
            problems.append(f"{opt.long} names a model file: use --checkpoint or a named role "
                            f"({', '.join(sorted(MODEL_FILE_ROLES - {'--out'}))})")
    for arg in (o for o in cmd.options if o.positional):
        if arg.type_name == "path" and any(w in arg.name for w in ("model", "ckpt", "checkpoint")):
            problems.append(f"positional {arg.name.upper()} is a model file: make it --checkpoint")
    if "--out" in flags and "--overwrite" not in flags:
        problems.append("writes (--out) but has no --overwrite")
    for alias, target in cmd.aliases.items():
        if target not in {f for o in cmd.options for f in o.flags}:
            problems.append(f"hidden alias {alias} points to {target}, which the command does not have")
        if alias in flags:
            problems.append(f"hidden alias {alias} is also a visible option")
    assert not problems, f"{cmd.path}: " + "; ".join(problems)


def test_docs_cli_md_is_current():
    """docs/cli.md lists every option of every app with its aliases: regenerate with
    `uv run python tools/gen_cli_docs.py` after changing a CLI."""
    assert DOC.is_file(), "docs/cli.md is missing: run `uv run python tools/gen_cli_docs.py`"
    assert DOC.read_text() == render_markdown(APPS), "docs/cli.md is out of date: run tools/gen_cli_docs.py"

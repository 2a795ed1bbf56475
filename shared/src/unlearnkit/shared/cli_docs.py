"""Every command and option of every installed unlearnkit CLI, as data: for docs/cli.md and the vocabulary test.

The apps are found the way a user finds them: through the ``console_scripts`` entry points of the installed
unlearnkit distributions, so a new package CLI is documented and checked without being listed anywhere.
``python tools/gen_cli_docs.py`` writes docs/cli.md from :func:`render_markdown`; tests compare the two.
"""

from __future__ import annotations

import enum
import importlib
import types
import typing
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path, PurePath
from typing import Any

import typer

from .cli_options import DISCOURAGED, VOCABULARY
from .cli_utils import ALIASES_ATTR


@dataclass
class OptionDoc:
    flags: list[str]  # visible spellings, long first (``--out``, ``-o``); ``--x/--no-x`` pairs both listed
    name: str  # the parameter's Python name
    help: str
    default: Any
    required: bool
    is_flag: bool
    type_name: str
    hidden: bool
    positional: bool = False
    has_check: bool = False  # a callback or a bounded type validates the value
    aliases: list[str] = field(default_factory=list)  # hidden alias spellings (cli_utils.flag_aliases)

    @property
    def long(self) -> str:
        return next((f for f in self.flags if f.startswith("--")), self.flags[0] if self.flags else self.name)


@dataclass
class CommandDoc:
    app: str  # console script name
    path: str  # "slug data fetch"
    help: str
    options: list[OptionDoc]
    aliases: dict[str, str]

    def option(self, flag: str) -> OptionDoc | None:
        return next((o for o in self.options if flag in o.flags), None)


@dataclass
class AppDoc:
    script: str
    dist: str
    target: str  # module:function of the entry point
    help: str
    root_options: list[OptionDoc]
    commands: list[CommandDoc]


def console_apps() -> list[tuple[str, str, str, typer.Typer]]:
    """``(script, distribution, target, app)`` for every console script of an installed unlearnkit package."""
    found = []
    for ep in entry_points(group="console_scripts"):
        if not ep.value.startswith("unlearnkit."):
            continue
        module_name = ep.value.split(":")[0]
        module = importlib.import_module(module_name)
        app = getattr(module, "app", None)
        if not isinstance(app, typer.Typer):
            app = next((v for v in vars(module).values() if isinstance(v, typer.Typer)), None)
        if app is None:
            continue
        dist = ep.dist.name if getattr(ep, "dist", None) is not None else "?"
        found.append((ep.name, dist, ep.value, app))
    return sorted(found, key=lambda t: (t[0] != "unlearnkit", t[0]))


def _annotation(param: Any) -> Any:
    desc = getattr(param, "type_descriptor", None)
    return getattr(desc, "annotation", None) if desc is not None else getattr(param, "type", None)


def _type_name(param: Any) -> str:
    """``int``, ``float``, ``path``, ``str``, ``flag``, ``a|b`` (choices), ``list[str]``: for the docs table."""
    hint = _annotation(param)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        hint, origin, args = args[0], typing.get_origin(args[0]), list(typing.get_args(args[0]))
    if origin is typing.Literal:
        return "|".join(map(str, args))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "|".join(str(m.value) for m in hint)
    if origin in (list, tuple):
        return f"list[{_plain_name(args[0]) if args else 'str'}]"
    if hint is bool:
        return "flag"
    return _plain_name(hint)


def _plain_name(hint: Any) -> str:
    if isinstance(hint, type) and issubclass(hint, PurePath):
        return "path"
    return getattr(hint, "__name__", str(hint)).lower()


def _has_check(param: Any) -> bool:
    hint = _annotation(param)
    choices = typing.get_origin(hint) is typing.Literal or (isinstance(hint, type) and issubclass(hint, enum.Enum))
    bounded = getattr(param, "min", None) is not None or getattr(param, "max", None) is not None
    return getattr(param, "callback", None) is not None or bounded or choices


def _option_doc(param: Any) -> OptionDoc:
    positional = getattr(param, "param_type_name", "") == "argument"
    flags = [] if positional else list(param.opts) + list(getattr(param, "secondary_opts", []) or [])
    flags = sorted(flags, key=lambda f: not f.startswith("--"))  # stable: long names first, in their order
    default = param.default
    if callable(default):
        default = "(computed)"
    return OptionDoc(flags=flags, name=param.name or "", help=" ".join((getattr(param, "help", "") or "").split()),
                     default=default, required=bool(param.required), is_flag=bool(getattr(param, "is_flag", False)),
                     type_name=_type_name(param), hidden=bool(getattr(param, "hidden", False)),
                     positional=positional, has_check=_has_check(param))


def _commands(group: Any, script: str, prefix: str) -> list[CommandDoc]:
    out = []
    for name in group.list_commands(None) if hasattr(group, "list_commands") else []:
        cmd = group.commands[name]
        path = f"{prefix} {name}".strip()
        if hasattr(cmd, "commands"):
            out.extend(_commands(cmd, script, path))
            continue
        aliases = dict(getattr(getattr(cmd, "callback", None), ALIASES_ATTR, {}) or {})
        options = [_option_doc(p) for p in cmd.params]
        for opt in options:
            opt.aliases = sorted(a for a, target in aliases.items() if target in opt.flags)
        out.append(CommandDoc(app=script, path=f"{script} {path}", help=(cmd.help or "").strip().split("\n")[0],
                              options=options, aliases=aliases))
    return out


def describe_apps() -> list[AppDoc]:
    docs = []
    for script, dist, target, app in console_apps():
        group = typer.main.get_command(app)
        root = [_option_doc(p) for p in group.params]
        commands = _commands(group, script, "") if hasattr(group, "commands") else [
            CommandDoc(app=script, path=script, help=(group.help or "").strip().split("\n")[0],
                       options=root, aliases={})]
        docs.append(AppDoc(script, dist, target, (group.help or "").strip().split("\n")[0], root, commands))
    return docs


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _default(opt: OptionDoc) -> str:
    if opt.required:
        return "required"
    if opt.default is None or opt.default == () or opt.default == []:
        return ""
    if opt.is_flag:
        return "on" if opt.default else "off"
    return f"`{opt.default}`"


def render_markdown(apps: list[AppDoc] | None = None) -> str:
    """docs/cli.md: the vocabulary, then every option of every command of every app, with its aliases."""
    apps = describe_apps() if apps is None else apps
    lines = [
        "# The unlearnkit command lines",
        "",
        "<!-- Generated by `uv run python tools/gen_cli_docs.py` from the installed apps: do not edit by hand. "
        "tests/test_cli_vocabulary.py checks that it is current and that every app follows the vocabulary. -->",
        "",
        "## The vocabulary",
        "",
        "Every app uses these flags for these meanings and no other (`unlearnkit.shared.cli_options`). Numbers",
        "are checked where they are parsed: a bad value is one line `Error: ...` naming it, exit code 2, before",
        "any work. Every command that writes has `--out/-o` and refuses to replace an existing file without",
        "`--overwrite`; an output that is also an input is refused even with it. The authors' own flag names",
        "are accepted as hidden aliases (listed per command below).",
        "",
        "| flag | meaning |",
        "|---|---|",
        *[f"| `{flag}` | {_cell(meaning)} |" for flag, meaning in VOCABULARY.items()],
        "",
        "Not used (hidden aliases at most): "
        + ", ".join(f"`{bad}` (use `{good}`)" for bad, good in DISCOURAGED.items()) + ".",
        "",
        "Named roles beside `--checkpoint`: `--reference` (retrained model), `--teacher`, `--mask`, and",
        "`--original` only where a command takes both an original and another checkpoint. `unlearnkit retrain`",
        "takes the original as `--checkpoint` (its only model input; `--original` is a hidden alias).",
        "",
    ]
    for app in apps:
        lines += [f"## `{app.script}` ({app.dist})", "", _cell(app.help), ""]
        root = [o for o in app.root_options if not o.hidden]
        if root:
            lines += ["App options: " + ", ".join(f"`{'`, `'.join(o.flags)}`" for o in root), ""]
        for cmd in app.commands:
            lines += [f"### `{cmd.path}`", "", _cell(cmd.help), "",
                      "| option | hidden aliases | type | default | help |", "|---|---|---|---|---|"]
            for opt in cmd.options:
                if opt.hidden:
                    continue
                flags = " ".join(f"`{f}`" for f in opt.flags) if not opt.positional else f"`{opt.name.upper()}`"
                aliases = " ".join(f"`{a}`" for a in opt.aliases)
                lines.append(f"| {flags} | {aliases} | {opt.type_name} | {_cell(_default(opt))} | {_cell(opt.help)} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(path: str | Path) -> bool:
    """Write docs/cli.md; returns True when its content changed."""
    from .io import atomic_write_text

    text = render_markdown()
    path = Path(path)
    if path.is_file() and path.read_text() == text:
        return False
    atomic_write_text(path, text)
    return True

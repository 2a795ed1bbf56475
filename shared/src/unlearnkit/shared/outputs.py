"""The output policy every command of every unlearnkit CLI follows.

A command declares, before it does any work, every path it will write (model, report, log, sidecar JSON,
folders) and every path it reads. :func:`plan_outputs` then refuses, in one line each:

- an output that is also an input of the same command (``--out`` equal to ``--request``),
- two outputs that name the same path,
- an existing file or folder without ``--overwrite``,
- a file output that is an existing folder (or a folder output that is a file),
- a folder that cannot be written (read-only, not a folder, missing permission).

So a mistake costs nothing: it is reported before a minute of training, and no existing file is touched.
Files are then written with :mod:`unlearnkit.shared.io`'s atomic helpers; a folder output is built in a fresh
temporary folder by :func:`staged_folder` and moved into place only when complete. ``--overwrite`` replaces the
paths the command writes and never deletes anything else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UnlearnkitError

PathLike = str | os.PathLike


@dataclass
class OutputPlan:
    """The checked outputs of one command, by role (usually the flag that named them)."""

    files: dict[str, Path] = field(default_factory=dict)
    folders: dict[str, Path] = field(default_factory=dict)

    def __getitem__(self, role: str) -> Path:
        return self.files[role] if role in self.files else self.folders[role]


def _real(path: Path) -> str:
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def _inside(child: str, parent: str) -> bool:
    return child != parent and os.path.commonpath([child, parent]) == parent


def _check_parent_writable(path: Path, role: str) -> None:
    """The nearest existing ancestor must be a writable folder (missing folders are created later)."""
    parent = Path(_real(path)).parent
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise UnlearnkitError(f"{role} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UnlearnkitError(f"{role} {path}: cannot write to folder {parent} (read-only or no permission)")


def plan_outputs(files: Mapping[str, PathLike | None] | None = None, *,
                 folders: Mapping[str, PathLike | None] | None = None,
                 inputs: Mapping[str, PathLike | None] | None = None,
                 overwrite: bool = False) -> OutputPlan:
    """Check every output of a command against the policy above; returns the checked paths.

    ``files``, ``folders`` and ``inputs`` map a role (e.g. ``"--out"``) to a path; ``None`` paths are skipped.
    Call it before loading data or models, so that a refused path costs no work.
    """
    plan = OutputPlan()
    seen: dict[str, str] = {}
    ins = {role: _real(Path(p)) for role, p in (inputs or {}).items() if p is not None}
    for kind, mapping in (("file", files or {}), ("folder", folders or {})):
        for role, p in mapping.items():
            if p is None:
                continue
            path = Path(p).expanduser()
            real = _real(path)
            if real in seen:
                raise UnlearnkitError(f"{seen[real]} and {role} both name {path}; give each output its own path")
            seen[real] = role
            for in_role, in_real in ins.items():
                if real == in_real:
                    raise UnlearnkitError(f"{role} {path} is also the input {in_role}; choose another output path")
                if kind == "folder" and (_inside(in_real, real) or _inside(real, in_real)):
                    raise UnlearnkitError(f"{role} {path} overlaps the input {in_role} ({in_real}); "
                                          "choose a folder outside it")
            if kind == "file" and path.is_dir():
                raise UnlearnkitError(f"{role} {path} is a folder; expected a file path")
            if kind == "folder" and path.exists() and not path.is_dir():
                raise UnlearnkitError(f"{role} {path} is a file; expected a folder")
            if path.exists() and not overwrite:
                raise UnlearnkitError(f"{role} {path} already exists; pass --overwrite to replace it")
            _check_parent_writable(path, role)
            if path.exists() and not os.access(path if path.is_dir() else path.parent, os.W_OK):
                raise UnlearnkitError(f"{role} {path}: cannot write there (read-only or no permission)")
            (plan.files if kind == "file" else plan.folders)[role] = path
    # A folder output must not contain another output's parent in a way that would move it away, and a file
    # output inside a folder output is allowed (the folder is merged, never replaced wholesale).
    return plan


def check_output_file(path: PathLike, overwrite: bool = False, *, role: str = "--out",
                      inputs: Mapping[str, PathLike | None] | None = None) -> Path:
    """Shorthand for one file output."""
    return plan_outputs({role: path}, inputs=inputs, overwrite=overwrite).files[role]


@contextmanager
def staged_folder(path: PathLike) -> Iterator[Path]:
    """Build a folder output in a fresh temporary folder beside ``path``; move it into place on success.

    If ``path`` already exists (the caller checked ``--overwrite``), the new entries are merged into it,
    each replacing only the entry of the same name: nothing else in the folder is deleted. On failure the
    temporary folder (which this function created) is removed and ``path`` is left as it was.
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not path.exists():
        os.replace(tmp, path)
        return
    _merge_into(tmp, path)
    shutil.rmtree(tmp, ignore_errors=True)  # only empty folders of our own remain


def _merge_into(src: Path, dst: Path) -> None:
    for entry in src.iterdir():
        target = dst / entry.name
        if entry.is_dir() and target.is_dir():
            _merge_into(entry, target)
        elif entry.is_dir() and target.exists():
            raise UnlearnkitError(f"cannot replace file {target} with a folder")
        elif target.is_dir():
            raise UnlearnkitError(f"cannot replace folder {target} with a file")
        else:
            os.replace(entry, target)

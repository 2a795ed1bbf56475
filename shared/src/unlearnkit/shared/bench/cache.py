"""The bench's cache: one JSON file per finished run, checked when read, and one writer per output folder.

A run file is written atomically and names its schema, its key (a hash of everything that changes its
numbers) and its status. A file that does not parse, has another schema or key, or did not finish is
recomputed, with one warning line, never trusted. Failed runs are not cached, so the next bench retries them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import UnlearnkitError
from ..io import save_json

SCHEMA = "unlearnkit.bench.run/2"
CACHED_STATUSES = ("ok", "skipped")


def key_of(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class RunRecord:
    method: str
    request: str  # checksum
    seed: int
    metrics: dict[str, float]
    rte: dict[str, float]
    status: str = "ok"  # ok | skipped | failed
    note: str = ""
    key: str = ""
    params: dict = field(default_factory=dict)
    schema: str = SCHEMA


def write_record(path: Path, rec: RunRecord) -> None:
    if rec.status in CACHED_STATUSES:
        save_json(path, asdict(rec))


def read_record(path: Path, key: str, log=print) -> RunRecord | None:
    """The cached run at ``path`` if it is whole and belongs to ``key``; None (recompute) otherwise."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        names = {f.name for f in fields(RunRecord)}
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError("another schema")
        rec = RunRecord(**{k: v for k, v in data.items() if k in names})
        if rec.status not in CACHED_STATUSES or (rec.status == "ok" and "UA" not in rec.metrics):
            raise ValueError(f"status {rec.status!r}")
    except (ValueError, TypeError) as err:  # JSONDecodeError is a ValueError
        log(f"warning: {path} is unreadable ({str(err).splitlines()[0][:80]}); computing it again")
        return None
    if rec.key != key:
        return None  # another configuration's run (e.g. other params): silently replaced
    return rec


def check_out_dir(out_dir: str | os.PathLike, overwrite: bool = False, what: str = "bench") -> None:
    """A bench writes into its own folder: a new or empty one, or one an earlier bench made (it resumes).
    Any other non-empty folder (``--out ~/Documents`` by mistake) needs ``overwrite``."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UnlearnkitError(f"--out {out} is a file, expected a folder")
    if overwrite or not out.exists() or (out / ".bench.lock").exists() or not any(out.iterdir()):
        return
    raise UnlearnkitError(f"--out {out} is not empty and not a {what} folder; choose another folder or pass "
                          "--overwrite to write into it")


class BenchLock:
    """One bench per output folder: an exclusive ``flock`` on ``<out>/.bench.lock``.

    The kernel drops the lock when its process dies, killed or not, so there is no stale lock to clean up.
    Re-entrant within one process (``run_bench`` holds it around ``Bench.run``, which takes it too).
    """

    _held: dict[str, int] = {}

    def __init__(self, out_dir: str | os.PathLike):
        self.path = Path(out_dir) / ".bench.lock"
        self._fh = None

    def __enter__(self) -> BenchLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        name = str(self.path.resolve())
        if name in BenchLock._held:
            BenchLock._held[name] += 1
            return self
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise UnlearnkitError(f"another bench (pid {holder}) is writing to {self.path.parent}; wait for it "
                                  "to finish or choose another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        BenchLock._held[name] = 1
        return self

    def __exit__(self, *exc) -> None:
        name = str(self.path.resolve())
        BenchLock._held[name] = BenchLock._held.get(name, 1) - 1
        if BenchLock._held[name] <= 0:
            BenchLock._held.pop(name, None)
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

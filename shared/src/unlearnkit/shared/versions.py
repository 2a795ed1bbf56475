"""Versions of the installed unlearnkit distributions and the machine: what produced a result.

Each package's version lives in one place, the ``[project] version`` of its pyproject; code reads it back
from the installed metadata so ``__version__``, ``--version`` and results files can never disagree with
what pip or uv installed.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, distributions, version

UNKNOWN = "0+unknown"  # a source tree on sys.path that was never installed has no metadata to read


def dist_version(dist: str) -> str:
    """The installed version of distribution ``dist`` (e.g. ``"unlearnkit-scar"``), or ``0+unknown``."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return UNKNOWN


def installed_versions() -> dict[str, str]:
    """Every installed ``unlearnkit-*`` distribution (the core and each paper package) and its version.

    Results files record this so a number can be traced to the exact method code that produced it, not
    only to the core's version.
    """
    found: dict[str, str] = {}
    for dist in distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("unlearnkit-") and name != "unlearnkit-workspace":
            found[name] = dist.version
    return dict(sorted(found.items()))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    """Python, platform, CPU, torch and the unlearnkit distributions: what a reader needs to compare numbers."""
    import torch

    return {"python": platform.python_version(), "platform": platform.platform(), "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cuda": torch.version.cuda if torch.cuda.is_available() else None,
            "packages": installed_versions()}

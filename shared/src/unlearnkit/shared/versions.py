"""What produced a result: the installed unlearnkit distributions and the machine, for results files."""

from __future__ import annotations

import os
import platform
from importlib.metadata import distributions


def installed_versions() -> dict[str, str]:
    """Every installed ``unlearnkit-*`` distribution (the core and each paper package) and its version."""
    found: dict[str, str] = {}
    for dist in distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("unlearnkit"):
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

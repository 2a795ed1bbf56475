"""Versions of the installed unlearnkit distributions.

Each package's version lives in one place, the ``[project] version`` of its pyproject; code reads it back
from the installed metadata so ``__version__``, ``--version`` and results files can never disagree with
what pip or uv installed.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distributions, version

UNKNOWN = "0+unknown"  # a source tree on sys.path that was never installed has no metadata to read


def dist_version(dist: str) -> str:
    """The installed version of distribution ``dist`` (e.g. ``"unlearnkit-scar"``), or ``0+unknown``."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return UNKNOWN


def installed_versions() -> dict[str, str]:
    """``{distribution: version}`` for every installed ``unlearnkit-*`` distribution, sorted by name.

    Results files record this so a number can be traced to the exact method code that produced it, not
    only to the core's version.
    """
    found = {}
    for d in distributions():
        name = (d.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("unlearnkit-") and name != "unlearnkit-workspace":
            found[name] = d.version
    return dict(sorted(found.items()))

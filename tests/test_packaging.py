"""Packaging rules every workspace member keeps (issue 13): one version source, a bounded requirement on the
core, dependencies declared exactly where they are imported, and PyPI-ready metadata (LICENSE, links).

The import checks read the source with ``ast``: a package that imports a distribution it does not declare
works in the workspace (another member installed it) and breaks for a user who installs it alone.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = {"unlearnkit-shared": ROOT / "shared",
           **{f"unlearnkit-{p.name}": p for p in sorted((ROOT / "packages").iterdir()) if p.is_dir()}}
# Declared but not (yet) imported, with the reason. Everything else declared must be imported somewhere.
NOT_IMPORTED_OK = {
    ("unlearnkit-slug", "standard-imghdr"): "img2dataset imports imghdr, gone from the stdlib in Python 3.13",
}
IMPORT_TO_DIST = {"PIL": "pillow", "sklearn": "scikit-learn", "open_clip": "open-clip-torch"}  # if not installed


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject(dist: str) -> dict:
    return tomllib.loads((MEMBERS[dist] / "pyproject.toml").read_text())


def _requirements(dist: str, *, groups: bool = False) -> dict[str, Requirement]:
    proj = _pyproject(dist)
    reqs = list(proj["project"].get("dependencies", []))
    for extra in proj["project"].get("optional-dependencies", {}).values():
        reqs += extra
    if groups:
        reqs += [r for g in proj.get("dependency-groups", {}).values() for r in g if isinstance(r, str)]
    return {_norm(Requirement(r).name): Requirement(r) for r in reqs}


def _imported_dists(folder: Path) -> dict[str, set[str]]:
    """{distribution: files importing it} for the absolute, non-stdlib imports under ``folder``."""
    mapping = packages_distributions()
    found: dict[str, set[str]] = {}
    for f in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "__future__":
                    continue
                if top == "unlearnkit":  # a namespace package: unlearnkit.<module> is distribution unlearnkit-<module>
                    dist = "unlearnkit-" + _norm(name.split(".")[1])
                else:
                    dists = mapping.get(top) or [IMPORT_TO_DIST.get(top, top)]
                    dist = _norm(dists[0])
                found.setdefault(dist, set()).add(str(f.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("dist", MEMBERS)
def test_version_has_one_source(dist):
    declared = _pyproject(dist)["project"]["version"]
    assert version(dist) == declared, "reinstall: the installed metadata lags behind pyproject.toml"
    module = __import__("unlearnkit." + dist.removeprefix("unlearnkit-").replace("-", "_"), fromlist=["x"])
    assert module.__version__ == declared
    for f in (MEMBERS[dist] / "src").rglob("*.py"):
        assert not re.search(r"^__version__\s*=\s*['\"]", f.read_text(), re.M), f"{f} hard-codes a version"


@pytest.mark.parametrize("dist", [d for d in MEMBERS if d != "unlearnkit-shared"])
def test_shared_requirement_is_bounded_and_met_by_the_workspace(dist):
    req = _requirements(dist)["unlearnkit-shared"]
    ops = {s.operator for s in req.specifier}
    assert ">=" in ops and "<" in ops, f"{dist} needs a bounded range like unlearnkit-shared>=0.1,<0.2: {req}"
    shared = Version(_pyproject("unlearnkit-shared")["project"]["version"])
    assert req.specifier.contains(shared), f"{dist} excludes the workspace's unlearnkit-shared {shared}"
    (low,) = [Version(s.version) for s in req.specifier if s.operator == ">="]
    # the lowest version a package claims must exist: released (a shared-v tag) or the workspace's own
    assert low <= shared


@pytest.mark.parametrize("dist", MEMBERS)
def test_every_import_is_declared_and_every_declaration_imported(dist):
    declared = _requirements(dist)
    used = _imported_dists(MEMBERS[dist] / "src")
    own = {dist, "unlearnkit-shared"}
    others = {d for d in used if d.startswith("unlearnkit-") and d not in own}
    assert not others, f"{dist} imports {others}: packages import only the core, never each other"
    missing = {d: sorted(f)[0] for d, f in used.items() if d not in declared and d != dist}
    assert not missing, f"{dist} imports undeclared distributions (distribution: first file): {missing}"
    unused = set(declared) - set(used) - {d for (p, d) in NOT_IMPORTED_OK if p == dist}
    assert not unused, f"{dist} declares {sorted(unused)} but never imports them"

    test_declared = _requirements(dist, groups=True)
    test_missing = {d for d in _imported_dists(MEMBERS[dist] / "tests") if d not in test_declared and d != dist}
    assert not test_missing, f"{dist}'s tests import {test_missing}: add them to its dev dependency group"


def test_every_package_asks_the_same_range_of_a_dependency():
    """One policy per third-party distribution: lowest-direct CI tests each bound, so they must not drift."""
    seen: dict[str, dict[str, SpecifierSet]] = {}
    for dist in MEMBERS:
        for name, req in _requirements(dist).items():
            if req.marker is None:
                seen.setdefault(name, {})[dist] = req.specifier
    for name, by_dist in seen.items():
        assert len(set(map(str, by_dist.values()))) == 1, f"{name} has different ranges: {by_dist}"
        assert all(s for s in by_dist.values()), f"{name} has no lower bound in {sorted(by_dist)}"


@pytest.mark.parametrize("dist", MEMBERS)
def test_pypi_metadata_license_and_links(dist):
    proj = _pyproject(dist)["project"]
    assert proj["license"] == "MIT" and proj["license-files"] == ["LICENSE"]
    assert (MEMBERS[dist] / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert proj["authors"] and proj["keywords"] and proj["classifiers"]
    assert {"Homepage", "Repository", "Issues", "Changelog"} <= proj["urls"].keys()
    minor = [c.rsplit(" ", 1)[1] for c in proj["classifiers"] if re.fullmatch(r".*:: 3\.\d+", c)]
    assert all(SpecifierSet(proj["requires-python"]).contains(m) for m in minor)
    readme = (MEMBERS[dist] / "README.md").read_text()
    relative = [u for u in re.findall(r"\]\(([^)\s]+)", readme) if not re.match(r"(https?://|#|mailto:)", u)]
    assert not relative, f"{dist}'s README has links that break on PyPI (make them absolute): {relative}"


@pytest.mark.parametrize("dist", MEMBERS)
def test_changelog_has_the_current_version(dist):
    text = (MEMBERS[dist] / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(_pyproject(dist)['project']['version'])}\]", text, re.M)

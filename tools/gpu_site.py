"""Make the workspace importable on an air-gapped GPU node without pip, uv or a build backend.

    python3 tools/gpu_site.py SITE_DIR [--wheels .gpu-wheels]

Prints the PYTHONPATH and PATH entries to use (``export`` lines). Standard library only, because it runs
before anything of ours can be imported.

- Each workspace member's ``src`` folder goes on PYTHONPATH (``unlearnkit`` is a namespace package, so the
  six folders merge), so the check always runs the code of this checkout, never a stale build.
- For each member a ``<name>-<version>.dist-info`` (METADATA + entry_points.txt) is written into SITE_DIR,
  which is on PYTHONPATH too: ``importlib.metadata`` then finds the ``unlearnkit.methods`` entry points the
  bench uses to discover package methods, exactly as after ``pip install``.
- Console scripts (``unlearnkit``, ``slug``, ...) become small launchers in ``SITE_DIR/bin``.
- Wheels in ``--wheels`` (filled by ``tools/gpu_wheels.sh`` on a networked machine) are unpacked into SITE_DIR
  when their distribution is not installed already and their tags fit this interpreter; a wheel is a zip of
  its import tree plus its dist-info, so unpacking it on the path is what a ``--target`` install does.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import platform
import re
import stat
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def installed(name: str) -> bool:
    try:
        md.distribution(name)
        return True
    except md.PackageNotFoundError:
        return False


def wheel_fits(filename: str) -> bool:
    """Whether a wheel's tags fit this interpreter (packaging's own check when it is importable)."""
    stem = filename[:-4]
    try:
        from packaging.tags import sys_tags
        from packaging.utils import parse_wheel_filename

        tags = parse_wheel_filename(filename)[3]
        supported = set(sys_tags())
        return any(t in supported for t in tags)
    except Exception:  # packaging missing or an odd name: a plain reading of the tags
        py, abi, plat = stem.split("-")[-3:]
        here = f"cp{sys.version_info[0]}{sys.version_info[1]}"
        if plat == "any":
            return any(t.startswith("py3") or t == here for t in py.split("."))
        if platform.machine() not in plat or not plat.startswith(("manylinux", "linux")):
            return False
        if abi == "abi3":  # the stable ABI: any CPython at or above the wheel's
            return any(t.startswith("cp3") and int(t[3:]) <= sys.version_info[1] for t in py.split("."))
        return here in py.split(".")


def unpack_wheels(wheels: Path, site: Path) -> list[dict]:
    done = []
    for whl in sorted(wheels.glob("*.whl")):
        dist = whl.name.split("-")[0]
        row = {"wheel": whl.name}
        if installed(dist):
            row["action"] = "skipped: installed"
        elif not wheel_fits(whl.name):
            row["action"] = "skipped: other platform"
        else:
            with zipfile.ZipFile(whl) as z:
                z.extractall(site)
            row["action"] = "unpacked"
        done.append(row)
    return done


def members() -> list[Path]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    paths: list[Path] = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        paths += sorted(p for p in ROOT.glob(pattern) if (p / "pyproject.toml").is_file())
    return paths


def write_dist_info(member: Path, site: Path, bindir: Path) -> dict:
    project = tomllib.loads((member / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    # Already installed (e.g. a uv environment's editable install): its metadata says the same; a second
    # dist-info would only shadow it. The src folder still comes first on the path for the imports.
    metadata = "installed" if installed(name) else "generated"
    if metadata == "generated":
        info = site / f"{norm(name)}-{version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("unlearnkit tools/gpu_site.py\n")
        lines = []
        for group, entries in groups.items():
            if entries:
                lines.append(f"[{group}]")
                lines += [f"{k} = {v}" for k, v in entries.items()]
                lines.append("")
        (info / "entry_points.txt").write_text("\n".join(lines))
    for script, target in project.get("scripts", {}).items():
        module, func = target.split(":")
        launcher = bindir / script
        launcher.write_text(f"#!{sys.executable}\nimport sys\nfrom {module} import {func}\n"
                            f"sys.exit({func}())\n")
        launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"name": name, "version": version, "metadata": metadata, "src": str(member / "src"), "scripts": sorted(project.get("scripts", {})),
            "entry_points": {g: sorted(e) for g, e in groups.items() if e}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path)
    ap.add_argument("--wheels", type=Path, default=ROOT / ".gpu-wheels")
    ap.add_argument("--report", type=Path, default=None, help="also write what was done here (JSON)")
    args = ap.parse_args()
    site = args.site.resolve()
    bindir = site / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    report = {"python": sys.version.split()[0], "executable": sys.executable, "site": str(site),
              "wheels_dir": str(args.wheels), "wheels": [], "packages": []}
    if args.wheels.is_dir():
        report["wheels"] = unpack_wheels(args.wheels, site)
    for member in members():
        report["packages"].append(write_dist_info(member, site, bindir))
    paths = [str(site)] + [p["src"] for p in report["packages"]]
    report["pythonpath"] = paths
    if args.report:
        args.report.write_text(json.dumps(report, indent=2))
    print(f"export PYTHONPATH={':'.join(paths)}${{PYTHONPATH:+:$PYTHONPATH}}")
    print(f"export PATH={bindir}:$PATH")


if __name__ == "__main__":
    main()

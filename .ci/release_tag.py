"""What a release tag releases: ``python .ci/release_tag.py resolve scar-v0.1.0`` / ``... notes scar-v0.1.0``.

One tag per package, ``<package>-v<version>`` (``shared-v0.1.0``, ``ps-unlearn-v0.2.0``). ``resolve`` fails
unless the package exists and the version equals the ``[project] version`` in its pyproject (a tag that
disagrees would publish something else than it names); it prints ``key=value`` lines for
``$GITHUB_OUTPUT``. ``notes`` prints the package's CHANGELOG section for that version (the release text).
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class TagError(Exception):
    pass


def resolve(tag: str, root: Path = ROOT) -> dict[str, str]:
    m = re.fullmatch(r"([a-z][a-z0-9-]*?)-v(\d[\w.+-]*)", tag)
    if not m:
        raise TagError(f"tag {tag!r} is not <package>-v<version>, e.g. scar-v0.1.0")
    package, version = m.groups()
    folder = root / "shared" if package == "shared" else root / "packages" / package
    if not (folder / "pyproject.toml").is_file():
        raise TagError(f"tag {tag!r}: no package {package!r} (shared or a folder of packages/)")
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    if project["version"] != version:
        raise TagError(f"tag {tag!r} says {version} but {folder.relative_to(root)}/pyproject.toml says "
                       f"{project['version']}: bump the version (and CHANGELOG) first, then tag")
    scripts = list(project.get("scripts", {}))
    return {"tag": tag, "package": package, "dist": project["name"], "version": version,
            "dir": str(folder.relative_to(root)), "cli": scripts[0] if scripts else ""}


def notes(tag: str, root: Path = ROOT) -> str:
    info = resolve(tag, root)
    text = (root / info["dir"] / "CHANGELOG.md").read_text()
    m = re.search(rf"^## \[{re.escape(info['version'])}\][^\n]*\n(.*?)(?=^## |^\[[^\]]+\]: |\Z)", text, re.M | re.S)
    if not m or not m.group(1).strip():
        raise TagError(f"{info['dir']}/CHANGELOG.md has no section for {info['version']}")
    return m.group(1).strip() + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("resolve", "notes"):
        print("usage: release_tag.py resolve|notes <package>-v<version>", file=sys.stderr)
        return 2
    try:
        if argv[0] == "resolve":
            print("".join(f"{k}={v}\n" for k, v in resolve(argv[1]).items()), end="")
        else:
            print(notes(argv[1]), end="")
    except TagError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Check built wheels and sdists before anyone publishes them: ``python .ci/check_dists.py DIST_DIR``.

Wheels: the core metadata PyPI shows (License-File, classifiers, Project-URLs) and, for every package but the
core, a bounded ``unlearnkit-shared`` requirement. Sdists: LICENSE, README, CHANGELOG inside, and no stray
files (caches, virtual environments, run outputs). Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

STRAY = re.compile(r"(^|/)(\.venv|venv|__pycache__|\.pytest_cache|\.ruff_cache|runs|bench-out|dist|build|"
                   r"\.ipynb_checkpoints|wandb)(/|$)|\.py[co]$|\.safetensors$|\.pt$")


def check_wheel(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(z.read(meta_name).decode())
    problems = []
    if meta.get_all("License-File") != ["LICENSE"]:
        problems.append(f"License-File is {meta.get_all('License-File')}")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        problems.append("no LICENSE in .dist-info/licenses")
    if meta.get("License-Expression") != "MIT":
        problems.append(f"License-Expression is {meta.get('License-Expression')}")
    for field in ("Classifier", "Project-URL", "Author", "Keywords"):
        if not meta.get_all(field):
            problems.append(f"no {field}")
    if meta["Name"] != "unlearnkit-shared":
        shared = [r for r in meta.get_all("Requires-Dist") or [] if re.match(r"unlearnkit[-_]shared\b", r)]
        if len(shared) != 1 or "<" not in shared[0] or ">=" not in shared[0]:
            problems.append(f"unlearnkit-shared requirement not bounded: {shared}")
    others = [r for r in meta.get_all("Requires-Dist") or []
              if re.match(r"unlearnkit[-_]", r) and not re.match(r"unlearnkit[-_]shared\b", r)]
    if others:
        problems.append(f"requires other unlearnkit packages: {others}")
    return problems


def check_sdist(path: Path) -> list[str]:
    with tarfile.open(path) as t:
        names = [n.split("/", 1)[1] for n in t.getnames() if "/" in n]
    problems = [f"stray file {n}" for n in names if STRAY.search(n)]
    for needed in ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "PKG-INFO"):
        if needed not in names:
            problems.append(f"no {needed}")
    return problems


def main(dist_dir: str) -> int:
    files = sorted(Path(dist_dir).glob("*.whl")) + sorted(Path(dist_dir).glob("*.tar.gz"))
    if not files:
        print(f"no wheels or sdists in {dist_dir}", file=sys.stderr)
        return 1
    failed = 0
    for f in files:
        problems = check_wheel(f) if f.suffix == ".whl" else check_sdist(f)
        print(f"{'FAIL' if problems else 'ok  '} {f.name}" + "".join(f"\n     - {p}" for p in problems))
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist"))

"""Put the lowest unlearnkit-shared a package claims into its environment: ``python .ci/lowest_shared.py scar``.

``uv sync --resolution lowest-direct`` lowers third-party dependencies, but the core comes from the workspace
(its newest source). When a package claims ``unlearnkit-shared>=L`` and the workspace has moved past L, this
installs the core as released at tag ``shared-vL`` (over the workspace copy, without dependencies) so the
package's tests run against the oldest core it says it supports. No tag for L while the workspace is newer
is an error: the claim cannot be tested.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _release(v: str) -> tuple[int, ...]:
    parts = tuple(int(x) for x in re.match(r"\d+(\.\d+)*", v).group(0).split("."))
    return parts + (0,) * (3 - len(parts))


def main(package: str) -> int:
    if package == "shared":
        return 0
    proj = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())["project"]
    (req,) = [r for r in proj["dependencies"] if r.startswith("unlearnkit-shared")]
    low = _release(re.search(r">=\s*([\w.]+)", req).group(1))
    current = _release(tomllib.loads((ROOT / "shared" / "pyproject.toml").read_text())["project"]["version"])
    tag = "shared-v" + ".".join(map(str, low))
    if low == current:
        print(f"unlearnkit-{package} claims {req}: the workspace's core {tag} is already the lowest")
        return 0
    if subprocess.run(["git", "rev-parse", "-q", "--verify", f"refs/tags/{tag}"], cwd=ROOT,
                      capture_output=True).returncode != 0:
        print(f"unlearnkit-{package} claims {req} but there is no tag {tag} to test it against", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", tag, "shared"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "x", "-C", tmp], input=archive.stdout, check=True)
        subprocess.run(["uv", "pip", "install", "--no-deps", "--python", sys.executable, f"{tmp}/shared"],
                       check=True)
    print(f"unlearnkit-{package}: testing against unlearnkit-shared from tag {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

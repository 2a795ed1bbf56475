"""The scripts release.yml and CI rely on: a tag releases exactly the package and version it names, and the
dist checker rejects what PyPI should never receive."""

from __future__ import annotations

import importlib.util
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parents[1] / ".ci"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, CI / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


release_tag = _load("release_tag")
check_dists = _load("check_dists")


def test_tag_resolves_to_one_package_at_its_pyproject_version():
    info = release_tag.resolve("ps-unlearn-v0.1.0")
    assert info == {"tag": "ps-unlearn-v0.1.0", "package": "ps-unlearn", "dist": "unlearnkit-ps-unlearn",
                    "version": "0.1.0", "dir": "packages/ps-unlearn", "cli": "ps-unlearn"}
    assert release_tag.resolve("shared-v0.1.0")["cli"] == "unlearnkit"


@pytest.mark.parametrize("tag, why", [("scar-v9.9.9", "pyproject.toml says"), ("v0.1.0", "not <package>"),
                                      ("nope-v0.1.0", "no package"), ("scar-0.1.0", "not <package>")])
def test_tag_that_disagrees_is_refused(tag, why, capsys):
    with pytest.raises(release_tag.TagError, match=why):
        release_tag.resolve(tag)
    assert release_tag.main(["resolve", tag]) == 1
    assert capsys.readouterr().err.startswith("Error: ")


def test_release_notes_are_the_changelog_section():
    text = release_tag.notes("scar-v0.1.0")
    assert text.startswith("### Added") and "SCAR" in text
    assert "## [" not in text and "[0.1.0]:" not in text  # neither the next section nor the link footer


def _wheel(path: Path, metadata: str, license_file: bool = True) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x-0.1.0.dist-info/METADATA", metadata)
        if license_file:
            z.writestr("x-0.1.0.dist-info/licenses/LICENSE", "MIT")
    return path


GOOD = """Metadata-Version: 2.4
Name: unlearnkit-scar
Version: 0.1.0
Project-URL: Repository, https://github.com/unlearnkit/unlearnkit
Author: unlearnkit contributors
License-Expression: MIT
License-File: LICENSE
Keywords: a,b
Classifier: Programming Language :: Python :: 3
Requires-Dist: torch>=2.3
Requires-Dist: unlearnkit-shared<0.2,>=0.1

"""


def test_dist_checker_accepts_good_and_rejects_unbounded_core_and_stray_files(tmp_path):
    assert check_dists.check_wheel(_wheel(tmp_path / "good.whl", GOOD)) == []
    bad = GOOD.replace("unlearnkit-shared<0.2,>=0.1", "unlearnkit-shared").replace("License-File: LICENSE\n", "")
    problems = check_dists.check_wheel(_wheel(tmp_path / "bad.whl", bad, license_file=False))
    assert len(problems) == 3 and any("not bounded" in p for p in problems)

    sdist = tmp_path / "unlearnkit_scar-0.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as t:
        for name in ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "PKG-INFO", "src/a.py",
                     "tests/__pycache__/a.cpython-311.pyc", ".venv/bin/python", "runs/x/model.pt"):
            info = tarfile.TarInfo(f"unlearnkit_scar-0.1.0/{name}")
            t.addfile(info, io.BytesIO(b""))
    problems = check_dists.check_sdist(sdist)
    assert sorted(p.split()[-1].split("/")[0] for p in problems) == [".venv", "runs", "tests"]

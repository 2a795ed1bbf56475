"""The CLI policy pieces every app uses: output checks, typed values, one-line errors, aliases, --version."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import pytest
import typer
from typer.testing import CliRunner
from unlearnkit.shared.cli_options import epochs_option, lr_option, out_option
from unlearnkit.shared.cli_utils import flag_aliases, make_app, rewrite_aliases
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.outputs import plan_outputs, staged_folder
from unlearnkit.shared.typed import coerce, coerce_fields


def test_plan_refuses_existing_without_overwrite(tmp_path):
    f = tmp_path / "m.pt"
    f.write_bytes(b"x")
    with pytest.raises(UnlearnkitError, match="already exists; pass --overwrite"):
        plan_outputs({"--out": f})
    assert plan_outputs({"--out": f}, overwrite=True).files["--out"] == f


def test_plan_refuses_output_equal_to_input_even_with_overwrite(tmp_path):
    req = tmp_path / "r.json"
    req.write_text("{}")
    with pytest.raises(UnlearnkitError, match="is also the input --request"):
        plan_outputs({"--out": tmp_path / "." / "r.json"}, inputs={"--request": req}, overwrite=True)


def test_plan_refuses_two_outputs_on_one_path(tmp_path):
    with pytest.raises(UnlearnkitError, match="both name"):
        plan_outputs({"--out": tmp_path / "a.json", "--report": tmp_path / "a.json"})


def test_plan_refuses_folder_for_file_and_file_as_parent(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(UnlearnkitError, match="is a folder"):
        plan_outputs({"--out": tmp_path / "d"}, overwrite=True)
    (tmp_path / "f").write_text("x")
    with pytest.raises(UnlearnkitError, match="is a file, not a folder"):
        plan_outputs({"--out": tmp_path / "f" / "m.pt"})


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_plan_refuses_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(UnlearnkitError, match="cannot write"):
            plan_outputs({"--out": ro / "m.pt"})
    finally:
        ro.chmod(0o755)


def test_plan_refuses_folder_overlapping_input(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(UnlearnkitError, match="overlaps the input"):
        plan_outputs(folders={"--out": src / "sub"}, inputs={"SOURCE": src}, overwrite=True)


def test_staged_folder_merges_and_keeps_other_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("user file")
    (out / "a.txt").write_text("old")
    with staged_folder(out) as tmp:
        assert not (tmp / "mine.txt").exists()
        (tmp / "a.txt").write_text("new")
        (tmp / "b.txt").write_text("b")
    assert (out / "mine.txt").read_text() == "user file"
    assert (out / "a.txt").read_text() == "new" and (out / "b.txt").read_text() == "b"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_staged_folder_failure_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), staged_folder(out) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


@dataclass
class _P:
    epochs: int = 3
    lr: float = 0.1
    cache: bool = False
    target: float | None = None
    mode: Literal["kl", "js"] = "kl"
    betas: tuple[float, float] = (0.9, 0.99)


def test_typed_params():
    got = coerce_fields(_P, {"epochs": "4", "lr": "1e-3", "cache": "yes", "target": "0.05", "mode": "js",
                             "betas": "0.5,0.6"})
    assert got == {"epochs": 4, "lr": 1e-3, "cache": True, "target": 0.05, "mode": "js", "betas": (0.5, 0.6)}
    assert coerce_fields(_P, {"target": "none"}) == {"target": None}
    for key, bad in [("epochs", "2.7"), ("cache", "ture"), ("lr", "nan"), ("mode", "l2"), ("betas", "1")]:
        with pytest.raises(UnlearnkitError, match=repr(key)):
            coerce_fields(_P, {key: bad})
    with pytest.raises(UnlearnkitError, match="has no parameter 'lrr'"):
        coerce_fields(_P, {"lrr": "1"})
    assert coerce("3", int) == 3 and coerce(3, int) == 3


def test_rewrite_aliases():
    assert rewrite_aliases(["--bsize", "8", "--model-path=x", "--", "--bsize"],
                           {"--bsize": "--batch-size", "--model-path": "--checkpoint"}) == [
        "--batch-size", "8", "--checkpoint=x", "--", "--bsize"]


def _app():
    app = make_app("demo", "Demo app.")

    @app.command()
    @flag_aliases({"--save-dir": "--out"})
    def run(out: Annotated[Path, out_option("Where.")] = Path("x"), epochs: Annotated[int, epochs_option()] = 1,
            lr: Annotated[float, lr_option()] = 0.1):
        """Run."""
        if str(out) == "boom":
            raise UnlearnkitError("bad thing")
        if str(out) == "bug":
            raise ZeroDivisionError("oops")
        typer.echo(f"{out} {epochs} {lr}")

    @app.command()
    def other():
        """Other."""

    return app


@pytest.mark.parametrize("args, needle", [
    (["run", "--epochs", "0"], "'--epochs'"),
    (["run", "--lr", "nan"], "'--lr'"),
    (["run", "--lr", "-1"], "'--lr'"),
    (["run", "--nope"], "--nope"),
    (["run", "--out", "boom"], "bad thing"),
])
def test_user_errors_are_one_line_exit_2(args, needle):
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0]
    assert "Traceback" not in res.output


def test_internal_error_is_one_line_exit_1():
    res = CliRunner().invoke(_app(), ["run", "--out", "bug"])
    assert res.exit_code == 1
    assert res.output.count("\n") == 1 and "internal error: ZeroDivisionError: oops" in res.output


def test_hidden_alias_and_version():
    res = CliRunner().invoke(_app(), ["run", "--save-dir", "here", "--epochs", "2"])
    assert res.exit_code == 0 and res.output.strip() == "here 2 0.1"
    res = CliRunner().invoke(_app(), ["run", "--help"])
    assert "--save-dir" not in res.output and "--out" in res.output
    res = CliRunner().invoke(_app(), ["--version"])
    assert res.exit_code == 0 and "unlearnkit-shared" in res.output

import json

from typer.testing import CliRunner
from unlearnkit.scar.cli import app

runner = CliRunner()


def test_help_lists_workflow():
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    for cmd in ("train-original", "sample-forget", "train-oracle", "surrogate", "unlearn"):
        assert cmd in r.output


def test_unlearn_cr_writes_results_and_refuses_overwrite(original_ckpt, tmp_path):
    out = tmp_path / "res.json"
    args = ["unlearn", "--original", str(original_ckpt), "--class", "3", "--out", str(out), "--no-mia",
            "--surrogate", "noise", "--surrogate-quantity", "1", "--epochs", "3", "--device", "cpu"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["stats_from"] == "surrogate" and res["mode"] == "CR"
    assert set(res["results"]) == {"original", "SCAR"}
    assert "acc_forget_test" in res["results"]["SCAR"]
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "--overwrite" in r.output


def test_bad_input_is_one_line_error(original_ckpt, tmp_path):
    r = runner.invoke(app, ["unlearn", "--original", str(original_ckpt), "--out", str(tmp_path / "x.json")])
    assert r.exit_code == 2 and "--class" in r.output
    r = runner.invoke(app, ["unlearn", "--original", str(original_ckpt), "--class", "3", "--method", "SCAR_self",
                            "--mode", "HR", "--out", str(tmp_path / "y.json")])
    assert r.exit_code == 2 and "class removal" in r.output


def test_sample_forget_seeded(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert runner.invoke(app, ["sample-forget", "--out", str(a), "--count", "50", "--seed", "1"]).exit_code == 0
    assert runner.invoke(app, ["sample-forget", "--out", str(b), "--count", "50", "--seed", "1"]).exit_code == 0
    ia, ib = json.loads(a.read_text())["indices"], json.loads(b.read_text())["indices"]
    assert ia == ib and len(ia) == 50

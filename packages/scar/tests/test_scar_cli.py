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
    args = ["unlearn", "--checkpoint", str(original_ckpt), "--classes", "3", "--out", str(out), "--no-mia",
            "--surrogate", "noise", "--surrogate-quantity", "1", "--epochs", "3", "--device", "cpu", "-p",
            "target=0.05", "--quiet"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["stats_from"] == "surrogate" and res["mode"] == "CR"
    assert set(res["results"]) == {"original", "SCAR"}
    assert "acc_forget_test" in res["results"]["SCAR"]
    assert res["params"]["target"] == 0.05 and res["target"] == 0.05  # typed --param, not the string "0.05"
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "--overwrite" in r.output


def test_authors_flag_names_still_work(original_ckpt, tmp_path):
    """The published main.py spellings are hidden aliases: --original, --class, --oracle, --bsize, --lambda_1."""
    out = tmp_path / "old.json"
    r = runner.invoke(app, ["unlearn", "--original", str(original_ckpt), "--class", "3", "--out", str(out),
                            "--no-mia", "--surrogate", "noise", "--surrogate-quantity", "1", "--epochs", "2",
                            "--bsize", "32", "--lambda_1", "2", "--lambda_2", "4", "--device", "cpu", "--quiet"])
    assert r.exit_code == 0, r.output
    p = json.loads(out.read_text())["params"]
    assert (p["bsize"], p["lambda_1"], p["lambda_2"]) == (32, 2.0, 4.0)
    help_text = runner.invoke(app, ["unlearn", "--help"]).output
    assert "--batch-size" in help_text and "--bsize" not in help_text and "--oracle" not in help_text


def test_bad_input_is_one_line_error(original_ckpt, tmp_path):
    r = runner.invoke(app, ["unlearn", "--checkpoint", str(original_ckpt), "--out", str(tmp_path / "x.json")])
    assert r.exit_code == 2 and "--classes" in r.output
    r = runner.invoke(app, ["unlearn", "--checkpoint", str(original_ckpt), "--classes", "3", "--method", "SCAR_self",
                            "--mode", "HR", "--out", str(tmp_path / "y.json")])
    assert r.exit_code == 2 and "class removal" in r.output


def test_sample_forget_seeded(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert runner.invoke(app, ["sample-forget", "--out", str(a), "--count", "50", "--seed", "1"]).exit_code == 0
    assert runner.invoke(app, ["sample-forget", "--out", str(b), "--count", "50", "--seed", "1"]).exit_code == 0
    ia, ib = json.loads(a.read_text())["indices"], json.loads(b.read_text())["indices"]
    assert ia == ib and len(ia) == 50

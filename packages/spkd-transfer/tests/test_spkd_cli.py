"""The CLI over the session's tiny run: commands work, outputs are written, bad input is one line + exit 2."""

import json
import shutil

import pytest
from typer.testing import CliRunner
from unlearnkit.spkd_transfer.cli import app
from unlearnkit.spkd_transfer.experiment import parse_method_spec

runner = CliRunner()


def _ok(args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


def _user_error(args, match):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 2, r.output
    assert match in r.output
    assert "Traceback" not in r.output
    return r


def test_help_lists_the_seed_commands():
    out = _ok(["--help"]).output
    for cmd in ("train", "mask", "forget", "knn", "cka", "report", "classes", "demo"):
        assert cmd in out
    fout = _ok(["forget", "--help"]).output
    for flag in ("--epochs", "--lr", "--classes", "--alpha", "--mask", "--checkpoint", "--out", "--batch-size",
                 "--distill", "--teacher", "--num-classes", "--reference", "--param"):
        assert flag in fout
    for old in ("--unlearn-epochs", "--model-path", "--save-dir", "--class-to-replace", "--retrained-path"):
        assert old not in fout  # the published names are hidden aliases


def test_forget_ga_via_cli_with_the_published_flag_names(run_dir):
    args = ["forget", "--method", "GA", "--model-path", run_dir / "original.pt", "--save-dir", run_dir,
            "--unlearn-epochs", "1", "--retrained-path", run_dir / "retrain.pt"]
    _ok(args)  # --model-path, --save-dir, --unlearn-epochs, --retrained-path: hidden aliases
    rep = json.loads((run_dir / "ga.json").read_text())
    assert rep["method"] == "ga" and rep["params"]["epochs"] == 1 and "CKA" in rep["metrics"]
    _user_error(args, "--overwrite")


def test_flag_that_does_not_apply_is_an_error(run_dir):
    _user_error(["forget", "--method", "ga", "--checkpoint", run_dir / "original.pt", "--out", run_dir,
                 "--alpha", "0.1", "--overwrite"], "--alpha does not apply")


def test_request_mismatch_and_bad_classes(run_dir, tmp_path):
    _user_error(["forget", "--method", "ga", "--checkpoint", run_dir / "original.pt", "--out", run_dir,
                 "--classes", "1,2", "--overwrite"], "forgets classes")
    _user_error(["forget", "--checkpoint", run_dir / "original.pt", "--out", tmp_path,
                 "--classes", "12"], "out of range")
    _user_error(["forget", "--checkpoint", run_dir / "original.pt", "--out", tmp_path,
                 "--classes", "1", "--num-classes", "100"], "has 10 classes")
    _user_error(["forget", "--checkpoint", tmp_path / "missing.pt", "--out", tmp_path,
                 "--classes", "1"], "not found")


def test_class_list_file_and_mask(run_dir, tmp_path):
    lst = tmp_path / "forget.txt"
    lst.write_text("4\n6\n")
    _ok(["mask", "--checkpoint", run_dir / "original.pt", "--classes", lst, "--out", run_dir,
         "--ratios", "0.2,0.5"])
    assert (run_dir / "mask" / "with_0.5.pt").is_file()
    _ok(["forget", "--method", "salun", "--checkpoint", run_dir / "original.pt", "--out", run_dir,
         "--mask", run_dir / "mask" / "with_0.5.pt", "--epochs", "1"])


def test_knn_and_cka_commands(run_dir, tmp_path):
    out = tmp_path / "knn.json"
    _ok(["knn", "--checkpoint", run_dir / "spkd.pt", "--checkpoint", run_dir / "retrain.pt", "--out", out])
    res = json.loads(out.read_text())
    assert set(res) == {str(run_dir / "spkd.pt"), str(run_dir / "retrain.pt")}
    assert all(0 <= v["digits-test"] <= 100 for v in res.values())
    out = tmp_path / "cka.json"
    _ok(["cka", "--checkpoint", run_dir / "retrain.pt", "--reference", run_dir / "retrain.pt",
         "--layers", "all", "--request", run_dir / "request.json", "--out", out])
    res = json.loads(out.read_text())[str(run_dir / "retrain.pt")]
    assert set(res) == {"digits-test", "forget", "retain", "test"}
    assert res["forget"]["mean"] == pytest.approx(100.0, abs=1e-6)
    assert {"body.1", "body.3", "penultimate", "logits"} == set(res["forget"]["layers"])
    _user_error(["cka", "--checkpoint", run_dir / "spkd.pt", "--reference", run_dir / "retrain.pt",
                 "--layers", "nope"], "unknown layer")
    _user_error(["knn", "--checkpoint", run_dir / "spkd.pt", "-d", "nowhere"], "unknown downstream")


def test_report_writes_markdown_json_png(run_dir, tmp_path):
    _ok(["report", "--checkpoint", f"retrain={run_dir / 'retrain.pt'}", "--checkpoint", f"spkd={run_dir / 'spkd.pt'}",
         "--reference", run_dir / "retrain.pt", "--request", run_dir / "request.json", "--out", tmp_path])
    md = (tmp_path / "report.md").read_text()
    assert "| spkd |" in md and "| retrain |" in md and "CKA" in md
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    ref = next(r for r in rows if r["model"] == "retrain")
    assert ref["dkNN"] == 0.0 and ref["CKA"] == pytest.approx(100.0, abs=1e-6)
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
    _user_error(["report", "--checkpoint", "bad", "--reference", run_dir / "retrain.pt", "--request",
                 run_dir / "request.json", "--out", tmp_path], "NAME=PATH")


def test_classes_command(tmp_path):
    out = tmp_path / "random100.txt"
    _ok(["classes", "--num-classes", "1000", "--count", "100", "--out", out])
    ids = [int(x) for x in out.read_text().split()]
    assert len(set(ids)) == 100
    _user_error(["classes", "--out", out], "--overwrite")


def test_method_specs():
    assert parse_method_spec("ga:lr=0.007") == ("ga", {"lr": "0.007"}, "ga_lr0.007")
    assert parse_method_spec("l1-sparse")[0] == "l1_sparse"


def test_spkd_flags_reach_the_method(run_dir, tmp_path):
    shutil.copy(run_dir / "request.json", tmp_path / "request.json")  # same request, own outputs
    _ok(["forget", "--method", "spkd", "--checkpoint", run_dir / "original.pt", "--out", tmp_path,
         "--epochs", "1", "--distill", "akd", "--teacher",
         run_dir / "retrain.pt", "--forget-cap", "0"])
    p = json.loads((tmp_path / "spkd.json").read_text())["params"]
    assert p == {"epochs": 1, "distill": "akd", "teacher": "retrained",
                 "teacher_path": str(run_dir / "retrain.pt"), "forget_cap": 0.0}
    _user_error(["forget", "--method", "ga", "--checkpoint", run_dir / "original.pt", "--out", run_dir,
                 "--preset", "paper", "--overwrite"], "--preset")
    _user_error(["forget", "--method", "spkd", "--checkpoint", run_dir / "original.pt", "--out", run_dir,
                 "--distill", "nope", "--overwrite"], "unknown distillation loss")

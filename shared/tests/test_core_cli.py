"""The `unlearnkit` CLI: real runs on digits, and one clear line (exit 2, no file) for every bad input."""

import json

import pytest
from typer.testing import CliRunner
from unlearnkit.shared.checkpoint import read_checkpoint
from unlearnkit.shared.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_request_then_retrain_then_evaluate(tmp_path, tiny_trained):
    _, _, orig = tiny_trained
    req = tmp_path / "req.json"
    res = invoke("request", "--kind", "class", "--classes", "3", "--out", req)
    assert res.exit_code == 0, res.output
    assert json.loads(req.read_text())["num_forget"] == 150
    out = tmp_path / "retrained.pt"
    res = invoke("retrain", "--request", req, "--checkpoint", orig, "--out", out, "--epochs", "2", "--device", "cpu")
    assert res.exit_code == 0, res.output
    meta = read_checkpoint(out)["meta"]
    assert meta["role"] == "retrained" and meta["request"] == json.loads(req.read_text())["checksum"]
    res = invoke("evaluate", "--checkpoint", out, "--request", req, "--reference", out, "--device", "cpu")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["metrics"]["UA"] == 100.0  # never saw class 3: it cannot predict it
    assert report["AvgGap"] == 0.0


def test_unlearn_writes_checkpoint_and_report(tmp_path, tiny_trained):
    _, _, orig = tiny_trained
    req = tmp_path / "req.json"
    invoke("request", "--kind", "class", "--classes", "3", "--out", req)
    out = tmp_path / "u.pt"
    res = invoke("unlearn", "--method", "rl", "--checkpoint", orig, "--request", req, "--out", out, "--device", "cpu",
                 "--param", "epochs=1")
    assert res.exit_code == 0, res.output
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["method"] == "rl" and report["metrics"]["UA"] > 50 and report["rte"]["seconds"] > 0


def _write(path, text):
    path.write_text(text)
    return path


BAD_REQUESTS = [
    (["--data", "nope"], "unknown data set 'nope'"),
    (["--data", "cifar10", "--data-root", "{tmp}/missing"], "--download"),
    (["--kind", "class", "--classes", "12"], "class id 12 is out of range"),
    (["--kind", "random", "--fraction", "1.5"], "must be a fraction in (0, 1]"),
    (["--kind", "random", "--fraction", "0"], "must be a fraction in (0, 1]"),
    (["--kind", "indices", "--index-file", "{tmp}/empty.txt"], "is empty"),
    (["--kind", "indices", "--index-file", "{tmp}/big.txt"], "index 99999 is out of range"),
    (["--kind", "indices", "--index-file", "{tmp}/none.txt"], "index file not found"),
    (["--kind", "banana"], "unknown request kind 'banana'"),
]


@pytest.mark.parametrize("args, message", BAD_REQUESTS)
def test_bad_request_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    _write(tmp_path / "empty.txt", "")
    _write(tmp_path / "big.txt", "1\n2\n99999\n")
    out = tmp_path / "req.json"
    res = invoke("request", "--out", out, *[a.format(tmp=tmp_path) for a in args])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_tampered_or_foreign_request_is_refused(tmp_path, tiny_trained):
    _, _, orig = tiny_trained
    req = tmp_path / "req.json"
    invoke("request", "--kind", "random", "--fraction", "0.1", "--out", req)
    data = json.loads(req.read_text())
    data["indices"] = data["indices"][1:]
    bad = _write(tmp_path / "bad.json", json.dumps(data))
    out = tmp_path / "r.pt"
    res = invoke("retrain", "--request", bad, "--out", out, "--epochs", "1")
    assert res.exit_code == 2 and "checksum" in res.output and not out.exists()
    data = json.loads(req.read_text())
    data["dataset"] = "mnist"
    foreign = _write(tmp_path / "foreign.json", json.dumps(data))
    res = invoke("retrain", "--request", foreign, "--out", out, "--epochs", "1")
    assert res.exit_code == 2 and "checksum" in res.output and not out.exists()


def test_existing_output_is_never_overwritten(tmp_path):
    out = _write(tmp_path / "req.json", "mine")
    res = invoke("request", "--kind", "class", "--classes", "1", "--out", out)
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert out.read_text() == "mine"


def test_unknown_method_and_bad_param(tmp_path, tiny_trained):
    _, _, orig = tiny_trained
    req = tmp_path / "req.json"
    invoke("request", "--kind", "class", "--classes", "3", "--out", req)
    res = invoke("unlearn", "--method", "nope", "--model", orig, "--request", req, "--out", tmp_path / "u.pt")
    assert res.exit_code == 2 and "unknown method 'nope'" in res.output
    res = invoke("unlearn", "--method", "ft", "--model", orig, "--request", req, "--out", tmp_path / "u.pt",
                 "--param", "nosuch=1")
    assert res.exit_code == 2 and "has no parameter 'nosuch'" in res.output
    assert not (tmp_path / "u.pt").exists()

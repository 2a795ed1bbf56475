"""The CLI end to end on a tiny random backbone (public split large, so the private part is small)."""

import json

import pytest
import torch
from typer.testing import CliRunner
from unlearnkit.lmeraser.cli import app
from unlearnkit.lmeraser.state import LMEraserState

runner = CliRunner()
FAST = ["--model", "tiny-random", "--public-size", "1330", "--num-clusters", "4", "--epochs", "1",
        "--batch-size", "32", "--device", "cpu"]
# The published code's spellings (arguments.py) still work, as hidden aliases.
AUTHORS = ["--pretrained_model", "tiny-random", "--public-size", "1330", "--num_clusters", "4", "--num_epochs", "1",
           "--batch_size", "32", "--device", "cpu"]


@pytest.fixture(scope="module")
def run_dir(cli_run):
    return cli_run


def test_authors_flag_names_are_hidden_aliases(run_dir):
    res = runner.invoke(app, ["train", "--base_dir", str(run_dir / "data"), "--test_dataset", "digits",
                              "--out", str(run_dir / "authors.pt"), *AUTHORS])
    assert res.exit_code == 0, res.output
    assert LMEraserState.load(run_dir / "authors.pt").config.epochs == 1
    help_text = runner.invoke(app, ["train", "--help"]).output
    assert "--data-root" in help_text and "--base-dir" not in help_text and "--num-epochs" not in help_text


def test_train_writes_checkpoint_and_summary(run_dir):
    summary = json.loads((run_dir / "lm.json").read_text())
    assert summary["num_clusters"] == 4 and summary["private_samples"] == 1437 - 1330
    state = LMEraserState.load(run_dir / "lm.pt")
    assert state.pipeline["backbone"] == "tiny-random" and state.backbone["fingerprint"]


def test_train_refuses_to_overwrite(run_dir):
    res = runner.invoke(app, ["train", "--data-root", str(run_dir / "data"), "--out", str(run_dir / "lm.pt"), *FAST])
    assert res.exit_code == 2 and "already exists" in res.output


def test_erase_by_ids_then_by_request_and_evaluate(run_dir):
    state = LMEraserState.load(run_dir / "lm.pt")
    ids = state.private_ids[:3].tolist()
    (run_dir / "ids.txt").write_text("\n".join(map(str, ids)))
    before = (run_dir / "lm.pt").read_bytes()
    res = runner.invoke(app, ["erase", "--checkpoint", str(run_dir / "lm.pt"), "--request", str(run_dir / "ids.txt"),
                              "--out", str(run_dir / "e1.pt"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert (run_dir / "lm.pt").read_bytes() == before  # the previous checkpoint is never modified
    record = json.loads((run_dir / "e1.erase.json").read_text())
    assert record["erased_ids"] == sorted(ids) and record["full_retrain_seconds"] > 0
    assert set(record) >= {"affected_clusters", "erase_seconds", "source_md5", "test_accuracy"}

    from unlearnkit.shared.data import ForgetRequest, load_dataset

    req = ForgetRequest.from_indices(load_dataset("digits"), state.private_ids[3:5].tolist())
    req.save(run_dir / "req.json")
    res = runner.invoke(app, ["erase", "--checkpoint", str(run_dir / "e1.pt"), "--request", str(run_dir / "req.json"),
                              "--out", str(run_dir / "e2.pt"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", "--checkpoint", str(run_dir / "e2.pt"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["erased_samples"] == 5


def test_erase_user_errors_exit_2(run_dir):
    state = LMEraserState.load(run_dir / "lm.pt")
    (run_dir / "pub.txt").write_text(str(int(state.public_ids[0])))
    cases = [
        (["--request", str(run_dir / "pub.txt"), "--out", str(run_dir / "x.pt")], "public"),
        (["--ids", str(run_dir / "pub.txt"), "--out", str(run_dir / "x.pt")], "public"),  # the old flag
        (["--request", str(run_dir / "pub.txt"), "--out", str(run_dir / "lm.pt")], "never modifies"),
        (["--out", str(run_dir / "x.pt")], "exactly one of"),
        (["--request", str(run_dir / "missing.txt"), "--out", str(run_dir / "x.pt")], "not found"),
    ]
    for args, message in cases:
        res = runner.invoke(app, ["erase", "--checkpoint", str(run_dir / "lm.pt"), *args, "--device", "cpu"])
        assert res.exit_code == 2 and message in res.output, (args, res.output)
        assert "Traceback" not in res.output


def test_backbone_checkpoint_md5_is_checked(run_dir):
    from unlearnkit.lmeraser.backbones import EMBEDDED_ARCH
    from unlearnkit.shared.models import create_model

    weights = run_dir / "bb.pth"
    torch.save(create_model(EMBEDDED_ARCH["name"], 10, in_chans=1, **EMBEDDED_ARCH["kwargs"]).state_dict(), weights)
    res = runner.invoke(app, ["train", "--data-root", str(run_dir / "data"), "--out", str(run_dir / "md5.pt"),
                              "--checkpoint", str(weights), "--checkpoint-md5", "0" * 32, *FAST])
    assert res.exit_code == 2 and "md5" in res.output


def test_unknown_names_are_user_errors(run_dir):
    res = runner.invoke(app, ["train", "--out", str(run_dir / "n.pt"), "--erasing-method", "nope"])
    assert res.exit_code == 2 and "unknown erasing method" in res.output
    res = runner.invoke(app, ["train", "--out", str(run_dir / "n.pt"), "--prompter", "nope"])
    assert res.exit_code == 2 and "unknown prompter" in res.output

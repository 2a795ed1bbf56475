"""Hostile and mistaken input to every `ps-unlearn` command: each is refused with exit code 2 and ONE line
naming the bad value, no traceback, and every file that existed before is byte-identical afterwards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from functools import partial

import pytest
import torch
from typer.testing import CliRunner
from unlearnkit.ps_unlearn.cli import app
from unlearnkit.shared.checkpoint import load_model, save_model
from unlearnkit.shared.data import ForgetRequest, load_dataset
from unlearnkit.shared.testing import HostilePickle, assert_refused, tree_md5

runner = CliRunner()
_digest = tree_md5
refused = partial(assert_refused, app, runner=runner)


@pytest.fixture()
def case(digits_run, tmp_path):
    """A folder with a private copy of the session's original model; commands write into it."""
    _, path = digits_run
    shutil.copy(path, tmp_path / "original.pt")
    return tmp_path, ["--checkpoint", str(tmp_path / "original.pt"), "--out", str(tmp_path), "--no-mia", "--quiet"]


@pytest.mark.parametrize("command, flag, value", [
    ("ps", "--epochs", "0"), ("ps", "--epochs", "-3"), ("ps", "--lr", "nan"), ("ps", "--lr", "0"),
    ("ps", "--batch-size", "0"), ("naive", "--batch-size", "0"), ("ps", "--ratio", "0"), ("ps", "--ratio", "1.5"),
    ("ps", "--expid", "-1"), ("ps", "--seed", "-1"), ("ps", "--device", "bogus"), ("run", "--train-epochs", "0"),
    ("ps", "--classes", "3,5"), ("ps", "--classes", "x"), ("ps", "--classes", "12"), ("ps", "--pick", "middle"),
    ("ps", "--stop-at", "200"), ("ps", "--trainable", "conv"), ("naive", "--solver", "qr"),
    ("ps", "--data", "SVHN"), ("train", "--train-epochs", "0"), ("ps", "--epochs", "2.7"),
])
def test_numbers_and_names_are_checked(case, command, flag, value):
    folder, common = case
    args = common if command != "train" else ["--out", str(folder), "--quiet"]
    line = refused(folder, [command, *args, flag, value])
    assert value in line or flag in line


def test_epochs_zero_is_not_fifty(case):
    """The published defaults used to replace a 0 (`epochs or 50`); the library refuses it too."""
    from unlearnkit.ps_unlearn.experiment import ExperimentOptions, ps_params

    folder, _ = case
    opts = ExperimentOptions(out_dir=str(folder), epochs=1, lr=0.5)
    assert (ps_params(opts).epochs, ps_params(opts).lr) == (1, 0.5)
    from unlearnkit.ps_unlearn.experiment import run_experiment
    from unlearnkit.shared.errors import UnlearnkitError

    with pytest.raises(UnlearnkitError, match="--epochs 0"):
        run_experiment(ExperimentOptions(out_dir=str(folder), checkpoint=str(folder / "original.pt"), epochs=0), ["ps"])


def test_reference_must_be_retrained_for_the_same_request(case, tmp_path_factory):
    folder, common = case
    # the original model is no retrained reference
    refused(folder, ["ps", *common, "--epochs", "1", "--reference", folder / "original.pt"],
            "--reference", "--allow-mismatch")
    model, meta = load_model(folder / "original.pt")
    save_model(folder / "other.pt", model, meta={**meta, "request_checksum": "f" * 64})
    refused(folder, ["ps", *common, "--epochs", "1", "--retrained", folder / "other.pt"], "ffffffffffff")
    # ... unless the user insists
    out = tmp_path_factory.mktemp("mismatch")
    res = runner.invoke(app, ["ps", "--checkpoint", str(folder / "original.pt"), "--out", str(out), "--no-mia",
                              "--quiet", "--epochs", "1", "--reference", str(folder / "other.pt"), "--allow-mismatch"])
    assert res.exit_code == 0, res.output


def test_hostile_and_damaged_checkpoints(case):
    folder, _ = case
    marker = folder / "pwned"
    torch.save({"state_dict": HostilePickle(marker)}, folder / "evil.pt")
    data = (folder / "original.pt").read_bytes()
    (folder / "cut.pt").write_bytes(data[: len(data) // 3])
    ckpt = torch.load(folder / "original.pt", weights_only=True)
    ckpt["state_dict"] = {k: torch.zeros(*(s + 1 for s in v.shape)) for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, folder / "misfit.pt")
    for name in ("evil.pt", "cut.pt", "misfit.pt", "missing.pt"):
        for flag in ("--checkpoint", "--init", "--reference"):
            if (name, flag) == ("misfit.pt", "--init"):
                continue  # --init reads W_init from the meta, which is intact in this file
            args = ["naive", "--out", folder, "--no-mia", "--quiet", flag, folder / name]
            if flag != "--checkpoint":
                args += ["--checkpoint", folder / "original.pt"]
            refused(folder, args, name)
    assert not marker.exists()


def test_hostile_requests(case):
    folder, common = case
    train = load_dataset("digits")
    req = ForgetRequest.from_indices(train, [1, 2, 3]).to_dict()
    req["indices"] = [4, 5, 6]  # edited after signing
    (folder / "forged.json").write_text(json.dumps(req))
    (folder / "range.txt").write_text("1\n100000\n")
    (folder / "junk.txt").write_text("one two")
    (folder / "float.json").write_text("[1, 2.5]")
    for name in ("forged.json", "range.txt", "junk.txt", "float.json", "absent.txt"):
        refused(folder, ["naive", *common, "--request", folder / name], name if name != "range.txt" else "100000")
    refused(folder, ["naive", *common, "--index-file", folder / "forged.json"], "forged.json")  # the old flag


def test_outputs_are_checked_before_work(case):
    folder, common = case
    res = runner.invoke(app, ["naive", *common])
    assert res.exit_code == 0, res.output
    refused(folder, ["naive", *common], "already exists", "--overwrite")
    (folder / "file").write_text("not a folder")
    refused(folder, ["naive", "--checkpoint", folder / "original.pt", "--out", folder / "file", "--quiet"], "file")
    refused(folder, ["train", "--out", folder / "file", "--quiet"], "file")


def test_device_auto_works(case):
    folder, common = case
    res = runner.invoke(app, ["naive", *common, "--device", "auto", "--data", "digits"])
    assert res.exit_code == 0, res.output


def test_killed_overwrite_run_keeps_the_finished_model(case):
    folder, _ = case
    shutil.copy(folder / "original.pt", folder / "original_digits_0.pt")
    before = _digest(folder)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "unlearnkit.ps_unlearn.cli", "train", "--out", str(folder),
                             "--train-epochs", "100000", "--overwrite", "--quiet", "--device", "cpu"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _digest(folder) == before

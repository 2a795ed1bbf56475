"""Hostile and mistaken input to every `lmeraser` command: each is refused with exit code 2 and ONE line
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
from unlearnkit.lmeraser.cli import app
from unlearnkit.lmeraser.state import LMEraserState
from unlearnkit.shared.testing import HostilePickle, assert_refused, tree_md5

from .conftest import CLI_FAST

runner = CliRunner()
_digest = tree_md5
refused = partial(assert_refused, app, runner=runner)


@pytest.fixture()
def case(cli_run, tmp_path):
    """A private copy of the session's checkpoint, a request of three private ids, and the data root."""
    shutil.copy(cli_run / "lm.pt", tmp_path / "lm.pt")
    state = LMEraserState.load(tmp_path / "lm.pt")
    (tmp_path / "ids.txt").write_text("\n".join(str(int(i)) for i in state.private_ids[:3]))
    return tmp_path, state, ["--data-root", str(cli_run / "data")]


@pytest.mark.parametrize("flag, value", [
    ("--lr", "nan"), ("--lr", "-1"), ("--epochs", "0"), ("--batch-size", "0"), ("--num-clusters", "0"),
    ("--prompt-size", "0"), ("--public-size", "0"), ("--distance-threshold", "inf"), ("--num-gpus", "0"),
    ("--seed", "-1"), ("--device", "bogus"), ("--epochs", "2.7"),
])
def test_train_numbers_and_names_are_checked(case, flag, value):
    folder, _, data = case
    line = refused(folder, ["train", "--out", folder / "new.pt", *data, *CLI_FAST, flag, value])
    assert value in line or flag in line  # the parser names the flag of a non-number, the checks the value


def test_train_outputs_are_checked_before_work(case):
    folder, _, data = case
    refused(folder, ["train", "--out", folder / "lm.pt", *data, *CLI_FAST], "already exists", "--overwrite")
    # --out X.json: the checkpoint and its summary would be one file
    refused(folder, ["train", "--out", folder / "x.json", *data, *CLI_FAST], "x.json")
    (folder / "file").write_text("a file, not a folder")
    refused(folder, ["train", "--out", folder / "file" / "lm.pt", *data, *CLI_FAST], "file")
    (folder / "dir.pt").mkdir()
    refused(folder, ["train", "--out", folder / "dir.pt", *data, *CLI_FAST], "folder")


def test_hostile_and_misfit_backbone_weights(case):
    folder, _, data = case
    marker = folder / "pwned"
    torch.save({"state_dict": HostilePickle(marker)}, folder / "evil.pth")
    refused(folder, ["train", "--out", folder / "new.pt", *data, *CLI_FAST, "--checkpoint", folder / "evil.pth"],
            "evil.pth")
    assert not marker.exists()
    torch.save({"blocks.0.attn.qkv.weight": torch.zeros(3, 3)}, folder / "small.pth")
    refused(folder, ["train", "--out", folder / "new.pt", *data, *CLI_FAST, "--checkpoint", folder / "small.pth"],
            "small.pth")
    refused(folder, ["train", "--out", folder / "new.pt", *data, *CLI_FAST, "--checkpoint", folder / "none.pth"],
            "none.pth")


def test_erase_never_writes_over_its_inputs(case):
    folder, _, _ = case
    base = ["erase", "--checkpoint", folder / "lm.pt", "--device", "cpu"]
    refused(folder, [*base, "--request", folder / "ids.txt", "--out", folder / "lm.pt", "--overwrite"], "lm.pt")
    # the record <out>.erase.json would replace the request it reads
    (folder / "x.erase.json").write_text((folder / "ids.txt").read_text())
    refused(folder, [*base, "--request", folder / "x.erase.json", "--out", folder / "x.pt", "--overwrite"],
            "x.erase.json")
    shutil.copy(folder / "lm.pt", folder / "done.pt")
    refused(folder, [*base, "--request", folder / "ids.txt", "--out", folder / "done.pt"], "already exists")


def test_erase_hostile_checkpoints(case):
    folder, _, _ = case
    marker = folder / "pwned"
    torch.save({"format": "unlearnkit.lmeraser/1", "x": HostilePickle(marker)}, folder / "evil.pt")
    data = (folder / "lm.pt").read_bytes()
    (folder / "cut.pt").write_bytes(data[: len(data) // 2])
    torch.save({"format": "unlearnkit.lmeraser/1", "config": {}}, folder / "forged.pt")
    torch.save({"state_dict": {}}, folder / "other.pt")
    for name in ("evil.pt", "cut.pt", "forged.pt", "other.pt", "missing.pt"):
        refused(folder, ["erase", "--checkpoint", folder / name, "--request", folder / "ids.txt",
                         "--out", folder / "out.pt", "--device", "cpu"], name)
        refused(folder, ["evaluate", "--checkpoint", folder / name, "--device", "cpu"], name)
    assert not marker.exists()


def test_erase_hostile_requests(case):
    folder, state, _ = case
    from unlearnkit.shared.data import ForgetRequest, load_dataset

    req = ForgetRequest.from_indices(load_dataset("digits"), state.private_ids[:2].tolist())
    forged = req.to_dict()
    forged["indices"] = [int(state.private_ids[5]), int(state.private_ids[6])]  # edited, checksum kept
    (folder / "forged.json").write_text(json.dumps(forged))
    (folder / "range.txt").write_text("5\n99999\n")
    (folder / "junk.txt").write_text("three, four")
    (folder / "float.json").write_text("[1.5, 2]")
    for name in ("forged.json", "range.txt", "junk.txt", "float.json", "nothing.txt"):
        refused(folder, ["erase", "--checkpoint", folder / "lm.pt", "--request", folder / name,
                         "--out", folder / "out.pt", "--device", "cpu"], name if name != "range.txt" else "99999")


def test_old_positional_checkpoint_explains_the_new_flag(case):
    folder, _, _ = case
    refused(folder, ["erase", folder / "lm.pt", "--request", folder / "ids.txt", "--out", folder / "o.pt"],
            "--checkpoint")
    refused(folder, ["evaluate", folder / "lm.pt"], "--checkpoint")
    refused(folder, ["evaluate", "--checkpoint", folder / "lm.pt", "--device", "bogus"], "bogus")


def test_device_auto_works(case):
    folder, _, _ = case
    res = runner.invoke(app, ["evaluate", "--checkpoint", str(folder / "lm.pt"), "--device", "auto"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["num_clusters"] == 4


def test_killed_overwrite_run_keeps_the_finished_output(case):
    """Kill `train --overwrite` mid-run: the existing checkpoint and its summary are untouched."""
    folder, _, data = case
    shutil.copy(folder / "lm.pt", folder / "keep.pt")
    (folder / "keep.json").write_text("{}")
    before = _digest(folder)
    args = [sys.executable, "-m", "unlearnkit.lmeraser.cli", "train", "--out", str(folder / "keep.pt"), *data,
            *CLI_FAST, "--epochs", "5000", "--overwrite", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _digest(folder) == before

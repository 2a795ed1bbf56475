"""Hostile and mistaken input to every `spkd-transfer` command: each is refused with exit code 2 and ONE
line naming the bad value, no traceback, and every file that existed before is byte-identical afterwards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner
from unlearnkit.shared.testing import HostilePickle, assert_refused, tree_md5
from unlearnkit.spkd_transfer.cli import app

runner = CliRunner()
_digest = tree_md5
refused = partial(assert_refused, app, runner=runner)


@pytest.fixture()
def case(run_dir, tmp_path):
    """A private run folder: the session's original, retrained model and request."""
    for name in ("original.pt", "retrain.pt", "request.json"):
        shutil.copy(run_dir / name, tmp_path / name)
    return tmp_path


def _forget(folder: Path, *extra) -> list:
    return ["forget", "--method", "ga", "--checkpoint", folder / "original.pt", "--out", folder, "--epochs", "1",
            *extra]


@pytest.mark.parametrize("args, needle", [
    (["--lr", "nan"], "nan"), (["--epochs", "0"], "0"), (["--batch-size", "0"], "0"), (["--device", "bogus"], "bogus"),
    (["--seed", "-1"], "-1"), (["--epochs", "2.7"], "--epochs"),
])
def test_train_numbers(case, args, needle):
    refused(case, ["train", "--model", "mlp", "--out", case / "new", *args], needle)


def test_train_outputs(case):
    refused(case, ["train", "--model", "mlp", "--out", case], "original.pt", "--overwrite")
    (case / "file").write_text("x")
    refused(case, ["train", "--model", "mlp", "--out", case / "file"], "file")
    refused(case, ["train", "--arch", "mlp", "--save_dir", case], "already exists")  # the published names


@pytest.mark.parametrize("extra, needle", [
    (["--lr", "inf"], "inf"), (["--epochs", "0"], "0"), (["--batch-size", "0"], "0"), (["--alpha", "-1"], "-1"),
    (["--forget-cap", "nan"], "nan"), (["--num-classes", "0"], "0"), (["-p", "epochs=2.7"], "2.7"),
    (["-p", "lr=nan"], "nan"), (["-p", "nope=1"], "nope"), (["-p", "epochs=0"], "0"), (["--device", "bogus"], "bogus"),
    (["--preset", "paper"], "--preset"), (["--classes", "1,2"], "forgets classes"), (["--classes", "99"], "99"),
])
def test_forget_values(case, extra, needle):
    refused(case, _forget(case, *extra), needle)


def test_forget_reference_and_teacher_must_match_the_request(case, tmp_path_factory):
    refused(case, _forget(case, "--reference", case / "original.pt"), "--reference", "--allow-mismatch")
    refused(case, ["forget", "--method", "spkd", "--checkpoint", case / "original.pt", "--out", case, "--epochs", "1",
                   "--teacher", case / "original.pt"], "--teacher", "--allow-mismatch")
    refused(case, _forget(case, "--retrained-path", case / "original.pt"), "--allow-mismatch")  # the published name
    refused(case, _forget(case, "--teacher", "retrained"), "--teacher PATH")


def test_hostile_and_damaged_files(case):
    marker = case / "pwned"
    torch.save({"state_dict": HostilePickle(marker)}, case / "evil.pt")
    data = (case / "original.pt").read_bytes()
    (case / "cut.pt").write_bytes(data[: len(data) // 2])
    ckpt = torch.load(case / "original.pt", weights_only=True)
    ckpt["state_dict"] = {k: torch.zeros(*(s + 1 for s in v.shape)) for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, case / "misfit.pt")
    for name in ("evil.pt", "cut.pt", "misfit.pt", "missing.pt"):
        refused(case, ["forget", "--method", "ga", "--checkpoint", case / name, "--out", case], name)
        refused(case, ["knn", "--checkpoint", case / name], name)
        refused(case, _forget(case, "--reference", case / name), name)
        refused(case, ["forget", "--method", "salun", "--checkpoint", case / "original.pt", "--out", case,
                       "--mask", case / name], name)
    # a mask of another shape
    model_state = torch.load(case / "original.pt", weights_only=True)["state_dict"]
    torch.save({k: torch.ones(3) for k in model_state}, case / "mask.pt")
    refused(case, ["forget", "--method", "salun", "--checkpoint", case / "original.pt", "--out", case,
                   "--mask", case / "mask.pt"], "mask.pt")
    assert not marker.exists()


def test_forged_request(case):
    req = json.loads((case / "request.json").read_text())
    req["indices"] = req["indices"][1:]
    (case / "request.json").write_text(json.dumps(req))
    refused(case, _forget(case), "request.json")
    refused(case, ["report", "--checkpoint", f"r={case / 'retrain.pt'}", "--reference", case / "retrain.pt",
                   "--request", case / "request.json", "--out", case], "request.json")


def test_knn_cka_report_classes_mask_demo(case):
    refused(case, ["knn", "--checkpoint", case / "retrain.pt", "--k", "0"], "0")
    refused(case, ["knn", "--checkpoint", case / "retrain.pt", "--repeats", "0"], "0")
    refused(case, ["knn", "--checkpoint", case / "retrain.pt", "--k", "100000"], "100000")  # more than the samples
    refused(case, ["knn", "--checkpoint", case / "retrain.pt", "--feature-layer", "conv9"], "conv9")
    refused(case, ["knn", "--checkpoint", case / "retrain.pt", "--out", case / "retrain.pt", "--overwrite"],
            "retrain.pt")
    refused(case, ["knn", "--checkpoint", case / "retrain.pt", "--device", "bogus"], "bogus")
    refused(case, ["cka", "--checkpoint", case / "retrain.pt", "--reference", case / "original.pt",
                   "--request", case / "request.json"], "--allow-mismatch")
    refused(case, ["cka", "--checkpoint", case / "retrain.pt", "--reference", case / "retrain.pt",
                   "--out", case / "request.json", "--request", case / "request.json", "--overwrite"], "request.json")
    base = ["report", "--reference", case / "retrain.pt", "--request", case / "request.json"]
    refused(case, [*base, "--checkpoint", "noname", "--out", case], "NAME=PATH")
    refused(case, [*base, "--checkpoint", f"r={case / 'retrain.pt'}", "--knn-repeats", "0", "--out", case], "0")
    (case / "report.md").write_text("an earlier report")
    refused(case, [*base, "--checkpoint", f"r={case / 'retrain.pt'}", "--out", case], "report.md", "--overwrite")
    refused(case, [*base, "-m", f"r={case / 'retrain.pt'}", "--out-dir", case], "report.md")  # the published names
    refused(case, ["classes", "--count", "0", "--out", case / "c.txt"], "0")
    refused(case, ["classes", "--num-classes", "0", "--out", case / "c.txt"], "0")
    refused(case, ["classes", "--out", case / "request.json"], "--overwrite")
    for ratios in ("0,1.5", "abc", "nan"):
        refused(case, ["mask", "--checkpoint", case / "original.pt", "--out", case, "--ratios", ratios], ratios)
    refused(case, ["demo", "--out", case / "demo", "--method", "ga:lr=nan"], "nan")
    refused(case, ["demo", "--out", case / "demo", "--method", "ga:epochs=2.7"], "2.7")
    refused(case, ["demo", "--out", case / "demo", "--knn-repeats", "0"], "0")


def _png(path: Path, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(path)


def test_corrupt_images_in_a_downstream_folder(case, tmp_path_factory):
    """One corrupt and one truncated image among good ones: skipped and counted; a folder of nothing but
    corrupt images: one line, exit 2."""
    root = tmp_path_factory.mktemp("imgs")
    for c in ("a", "b"):
        (root / c).mkdir()
        for i in range(10):
            _png(root / c / f"{i}.png", i + (100 if c == "b" else 0))
    (root / "a" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    good = (root / "b" / "0.png").read_bytes()
    (root / "b" / "cut.png").write_bytes(good[: len(good) // 2])
    out = case / "knn.json"
    res = runner.invoke(app, ["knn", "--checkpoint", str(case / "retrain.pt"), "-d", f"folder:{root}",
                              "--out", str(out), "--device", "auto"])
    assert res.exit_code == 0, res.output
    assert 0 <= json.loads(out.read_text())[str(case / "retrain.pt")][f"folder:{root}"] <= 100
    bad_root = tmp_path_factory.mktemp("bad")
    (bad_root / "a").mkdir()
    (bad_root / "a" / "x.png").write_bytes(b"junk")
    refused(case, ["knn", "--checkpoint", case / "retrain.pt", "-d", f"folder:{bad_root}"], "none of its 1 images")


def test_killed_overwrite_run_keeps_the_finished_model(case):
    keep = (case / "original.pt").read_bytes()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "unlearnkit.spkd_transfer.cli", "train", "--model", "mlp",
                             "--out", str(case), "--epochs", "100000", "--overwrite", "--device", "cpu"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (case / "original.pt").read_bytes() == keep

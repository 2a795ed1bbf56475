"""Hostile input to the `unlearnkit` CLI, with real files (issue 12).

Every case: exit code 2, ONE line `Error: ...` naming the bad value, no traceback, and every file that existed
before the command byte-identical afterwards (md5 of the whole folder).
"""

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

import pytest
import torch
from typer.testing import CliRunner
from unlearnkit.shared.checkpoint import read_checkpoint
from unlearnkit.shared.cli import app
from unlearnkit.shared.data.requests import _checksum
from unlearnkit.shared.io import save_torch
from unlearnkit.shared.testing import HostilePickle, assert_refused, tree_md5

runner = CliRunner()
md5_tree = tree_md5
refused = partial(assert_refused, app, runner=runner)


@pytest.fixture(scope="module")
def base(tiny_trained, tmp_path_factory):
    """A folder with the original model, a class-3 request, a random request and a class-3 retrain."""
    _, _, orig = tiny_trained
    root = tmp_path_factory.mktemp("hostile-base")
    shutil.copy(orig, root / "orig.pt")
    for name, args in [("req.json", ["--kind", "class", "--classes", "3"]),
                       ("other.json", ["--kind", "random", "--fraction", "0.1"])]:
        res = runner.invoke(app, ["request", "--out", str(root / name), *args])
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["retrain", "--request", str(root / "req.json"), "--checkpoint", str(root / "orig.pt"),
                              "--out", str(root / "old.pt"), "--epochs", "1", "--device", "cpu", "--quiet"])
    assert res.exit_code == 0, res.output
    return root


@pytest.fixture
def work(base, tmp_path):
    """A fresh copy of the base folder for one case (its md5s are compared before/after)."""
    folder = tmp_path / "work"
    shutil.copytree(base, folder)
    return folder


# -- outputs ------------------------------------------------------------------------------------------------


def test_unlearn_out_equal_to_the_request_is_refused(work):
    refused(work, ["unlearn", "--method", "ft", "--checkpoint", work / "orig.pt", "--request", work / "req.json",
                   "--out", work / "req.json", "--overwrite"], "is also the input --request")


def test_unlearn_report_sidecar_equal_to_the_request_is_refused(work):
    # --out req.pt writes its report to req.json: the request being read
    refused(work, ["unlearn", "--method", "ft", "--checkpoint", work / "orig.pt", "--request", work / "req.json",
                   "--out", work / "req.pt", "--overwrite"], "--out (report)")


def test_unlearn_out_equal_to_the_checkpoint_is_refused(work):
    refused(work, ["unlearn", "--method", "ft", "--checkpoint", work / "orig.pt", "--request", work / "req.json",
                   "--out", work / "orig.pt", "--overwrite"], "is also the input --checkpoint")


@pytest.mark.parametrize("cmd", ["train", "retrain", "unlearn", "request"])
def test_existing_output_without_overwrite_is_refused(work, cmd):
    args = {"train": ["train", "--out", work / "old.pt", "--model", "mlp", "--epochs", "1"],
            "retrain": ["retrain", "--request", work / "req.json", "--out", work / "old.pt", "--epochs", "1"],
            "unlearn": ["unlearn", "--method", "ft", "--checkpoint", work / "orig.pt", "--request", work / "req.json",
                        "--out", work / "old.pt"],
            "request": ["request", "--out", work / "other.json", "--classes", "1"]}[cmd]
    refused(work, args, "already exists; pass --overwrite")


def test_existing_report_sidecar_without_overwrite_is_refused(work):
    (work / "u.json").write_text("{}")
    refused(work, ["unlearn", "--method", "ft", "--checkpoint", work / "orig.pt", "--request", work / "req.json",
                   "--out", work / "u.pt"], "u.json already exists")


@pytest.mark.parametrize("cmd", ["train", "unlearn", "request"])
def test_file_where_a_folder_is_expected_is_refused(work, cmd):
    (work / "afile").write_text("not a folder")
    out = work / "afile" / "x.pt"
    args = {"train": ["train", "--out", out, "--model", "mlp", "--epochs", "1"],
            "unlearn": ["unlearn", "--method", "ft", "--checkpoint", work / "orig.pt", "--request", work / "req.json",
                        "--out", out],
            "request": ["request", "--out", out, "--classes", "1"]}[cmd]
    refused(work, args, "is a file, not a folder")


def test_folder_as_output_file_is_refused(work):
    (work / "adir").mkdir()
    (work / "adir" / "keep.txt").write_text("keep")
    refused(work, ["train", "--out", work / "adir", "--model", "mlp", "--epochs", "1", "--overwrite"],
            "is a folder; expected a file path")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_refused(work):
    ro = work / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        refused(work, ["train", "--out", ro / "m.pt", "--model", "mlp", "--epochs", "1"], "cannot write")
    finally:
        ro.chmod(0o755)


def test_killed_overwrite_run_keeps_the_finished_model(work):
    """A real process, killed with SIGKILL after its first epoch: the finished model.pt stays as it was."""
    model = work / "model.pt"
    shutil.copy(work / "orig.pt", model)
    (work / "model.log.jsonl").write_text('{"epoch": 0, "loss": 1.0}\n')  # the finished run's epoch log
    before = md5_tree(work)
    env = {**os.environ, "UNLEARNKIT_EPOCH_DELAY": "30", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "unlearnkit.shared.cli", "train", "--out", str(model),
                             "--model", "mlp", "--epochs", "3", "--overwrite", "--device", "cpu", "--quiet"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = work / "model.pt.partial"
    try:
        deadline = time.monotonic() + 240
        while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert partial.exists(), "the run never finished its first epoch"
        time.sleep(1.0)  # the partial is renamed into place atomically; let the epoch's sleep begin
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    after = md5_tree(work)
    assert after["model.pt"] == before["model.pt"]
    assert {k: v for k, v in after.items() if k in before} == before
    # evaluate accepts the finished model and refuses the killed run's partial state
    res = runner.invoke(app, ["evaluate", "--checkpoint", str(model), "--request", str(work / "req.json"),
                              "--device", "cpu"])
    assert res.exit_code == 0, res.output
    refused(work, ["evaluate", "--checkpoint", partial, "--request", work / "req.json"],
            "is an unfinished training run")
    # a second run without --resume or --overwrite is told about the partial
    refused(work, ["train", "--out", model, "--model", "mlp", "--epochs", "3"], "--resume")


# -- resume ---------------------------------------------------------------------------------------------------


@pytest.fixture
def killed_run(work, monkeypatch):
    """model.pt.partial of a run (mlp, 2 epochs, seed 0, lr 0.05) killed after its first epoch, in-process."""
    from unlearnkit.shared.train import loop

    class Killed(BaseException):
        pass

    def die():
        raise Killed

    monkeypatch.setattr(loop, "_test_delay", die)
    with pytest.raises(Killed):
        runner.invoke(app, ["train", "--out", str(work / "model.pt"), "--model", "mlp", "--epochs", "2",
                            "--lr", "0.05", "--device", "cpu", "--quiet"], catch_exceptions=False)
    monkeypatch.undo()
    assert (work / "model.pt.partial").exists()
    return work


@pytest.mark.parametrize("extra, needle", [
    (["--seed", "1"], "seed 0, not 1"), (["--lr", "0.01"], "lr 0.05, not 0.01"),
    (["--epochs", "5"], "epochs 2, not 5"), (["--model", "lenet5"], "model name 'mlp', not 'lenet5'"),
])
def test_resume_with_other_settings_is_refused(killed_run, extra, needle):
    base = {"--model": "mlp", "--epochs": "2", "--lr": "0.05"}
    for i in range(0, len(extra), 2):
        base[extra[i]] = extra[i + 1]
    args = ["train", "--out", killed_run / "model.pt", "--resume", "--device", "cpu"]
    for k, v in base.items():
        args += [k, v]
    refused(killed_run, args, needle)


def test_resume_of_a_finished_run_with_other_settings_is_refused(work):
    shutil.copy(work / "orig.pt", work / "model.pt")
    refused(work, ["train", "--out", work / "model.pt", "--resume", "--model", "mlp", "--epochs", "3",
                   "--batch-size", "64", "--lr", "0.1"], "is a finished run, but it was started with lr 0.05, not 0.1")


def test_resume_of_the_same_finished_run_does_nothing(work):
    shutil.copy(work / "orig.pt", work / "model.pt")
    before = md5_tree(work)
    res = runner.invoke(app, ["train", "--out", str(work / "model.pt"), "--resume", "--model", "mlp", "--epochs", "3",
                              "--batch-size", "64", "--lr", "0.05", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "already complete" in res.output
    assert md5_tree(work) == before


def test_retrain_resume_for_another_request_is_refused(work):
    line = refused(work, ["retrain", "--request", work / "other.json", "--checkpoint", work / "orig.pt",
                          "--out", work / "old.pt", "--resume", "--epochs", "1"], "is a finished run, but")
    other = json.loads((work / "other.json").read_text())["checksum"][:12]
    assert f"not {other}" in line


# -- forged requests ----------------------------------------------------------------------------------------


def _forge(work: Path, **changes) -> Path:
    d = json.loads((work / "req.json").read_text())
    d.update(changes)
    d["checksum"] = _checksum(d["dataset"], d["dataset_size"], tuple(d["indices"]))  # the forger recomputes it
    path = work / "forged.json"
    path.write_text(json.dumps(d))
    return path


FORGED = [
    ({"indices": [-1, 2, 3]}, "index -1 is out of range"),
    ({"indices": [1, 2, 10**6]}, "index 1000000 is out of range"),
    ({"indices": [1, 2.0, 3]}, "index 2.0 is not an integer"),
    ({"indices": [1, True, 3]}, "index True is not an integer"),
    ({"indices": ["1", 2]}, "index '1' is not an integer"),
    ({"indices": []}, "selects no samples"),
    ({"indices": [5, 7, 7]}, "index 7 appears more than once"),
    ({"kind": "bogus"}, "unknown request kind 'bogus'"),
    ({"classes": [42]}, "class id 42 of the request does not exist"),
    ({"classes": [-3]}, "class id -3 is not an integer >= 0"),
    ({"dataset_size": 0}, "dataset_size must be an integer >= 1"),
    ({"fraction": 7}, "fraction must be a number in (0, 1]"),
    ({"indices": {"0": 1}}, "'indices' must be a JSON list"),
]


@pytest.mark.parametrize("changes, needle", FORGED)
def test_forged_request_is_refused(work, changes, needle):
    forged = _forge(work, **changes)
    refused(work, ["evaluate", "--checkpoint", work / "orig.pt", "--request", forged], needle)


def test_class_request_that_does_not_hold_its_class_is_refused(work, digits):
    d = json.loads((work / "req.json").read_text())
    not_three = [int(i) for i in (digits.train.targets != 3).nonzero()[0][:5]]
    forged = _forge(work, indices=sorted(d["indices"][:-1] + not_three[:1]))
    refused(work, ["evaluate", "--checkpoint", work / "orig.pt", "--request", forged], "is a sample of class")
    forged = _forge(work, indices=d["indices"][:-1])  # one sample of class 3 missing
    refused(work, ["unlearn", "--method", "ft", "--checkpoint", work / "orig.pt", "--request", forged,
                   "--out", work / "u.pt"], "must hold every sample of classes [3]")


# -- hostile and broken checkpoints -------------------------------------------------------------------------


def _forge_ckpt(work: Path, name: str, mutate) -> Path:
    ckpt = read_checkpoint(work / "orig.pt")
    mutate(ckpt)
    save_torch(work / name, ckpt)
    return work / name


def test_hostile_pickle_is_refused_naming_the_global(work):
    torch.save({"format": "unlearnkit.model/1", "state_dict": HostilePickle(work / "pwned.txt")}, work / "evil.pt")
    for cmd in (["evaluate", "--checkpoint", work / "evil.pt", "--request", work / "req.json"],
                ["retrain", "--request", work / "req.json", "--checkpoint", work / "evil.pt", "--out", work / "r.pt"],
                ["unlearn", "--method", "ft", "--checkpoint", work / "evil.pt", "--request", work / "req.json",
                 "--out", work / "u.pt"]):
        line = refused(work, cmd, "references posix.system, which weights-only loading does not allow")
        assert line.startswith("Error: refused: the pickle in")
    assert not (work / "pwned.txt").exists()


@pytest.mark.parametrize("content", [b"", b"hello, not torch", b"PK\x03\x04truncated"])
def test_not_a_torch_file_is_one_line(work, content):
    (work / "bad.pt").write_bytes(content)
    refused(work, ["evaluate", "--checkpoint", work / "bad.pt", "--request", work / "req.json"],
            "not a PyTorch file, or a truncated one")


def test_truncated_checkpoint_is_one_line(work):
    data = (work / "orig.pt").read_bytes()
    (work / "cut.pt").write_bytes(data[: len(data) // 2])
    refused(work, ["evaluate", "--checkpoint", work / "cut.pt", "--request", work / "req.json"], "cut.pt")


@pytest.mark.parametrize("kwargs, needle", [
    ({"pretrained": True}, "sets constructor argument 'pretrained'"),
    ({"hidden": 32, "pretrained_cfg_overlay": {"url": "http://127.0.0.1:9/evil.bin"}},
     "sets constructor argument 'pretrained_cfg_overlay'"),
    ({"checkpoint_path": "/etc/passwd"}, "sets constructor argument 'checkpoint_path'"),
])
def test_forged_checkpoint_kwargs_are_refused(work, kwargs, needle, monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("network access while loading a checkpoint")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    forged = _forge_ckpt(work, "forged.pt", lambda c: c["model_config"].update(kwargs=kwargs))
    refused(work, ["evaluate", "--checkpoint", forged, "--request", work / "req.json"], needle)


def test_forged_timm_checkpoint_with_pretrained_overlay_is_refused(work, monkeypatch):
    import socket

    monkeypatch.setattr(socket.socket, "connect", lambda *a, **k: (_ for _ in ()).throw(AssertionError("network")))

    def mutate(c):
        c["model_config"] = {"name": "timm:vit_tiny_patch16_224", "num_classes": 10, "in_chans": 1,
                             "kwargs": {"img_size": 32, "pretrained": True,
                                        "pretrained_cfg_overlay": {"url": "http://127.0.0.1:9/w.bin"}}}
    forged = _forge_ckpt(work, "timm.pt", mutate)
    refused(work, ["evaluate", "--checkpoint", forged, "--request", work / "req.json"], "may not set")
    forged = _forge_ckpt(work, "hub.pt", lambda c: c["model_config"].update(name="timm:hf-hub:evil/model"))
    refused(work, ["evaluate", "--checkpoint", forged, "--request", work / "req.json"], "unknown model")


def test_nan_checkpoint_is_one_line(work):
    def mutate(c):
        key = next(iter(c["state_dict"]))
        c["state_dict"][key] = torch.full_like(c["state_dict"][key], float("nan"))
    forged = _forge_ckpt(work, "nan.pt", mutate)
    refused(work, ["evaluate", "--checkpoint", forged, "--request", work / "req.json"], "NaN or infinite weights")


def test_state_dict_of_another_shape_is_one_line(work):
    def mutate(c):
        key = next(iter(c["state_dict"]))
        c["state_dict"][key] = torch.zeros(3, 3)
    forged = _forge_ckpt(work, "shape.pt", mutate)
    line = refused(work, ["evaluate", "--checkpoint", forged, "--request", work / "req.json"], "does not fit")
    assert "body.1.weight has shape (3, 3)" in line


def test_reference_for_another_request_is_refused(work):
    for cmd in (["evaluate", "--checkpoint", work / "orig.pt"],
                ["unlearn", "--method", "ft", "--checkpoint", work / "orig.pt", "--out", work / "u.pt"]):
        refused(work, [*cmd, "--request", work / "other.json", "--reference", work / "old.pt"],
                "pass --allow-mismatch")


# -- numbers and devices -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, needle", [
    (["--lr", "nan"], "--lr"), (["--lr", "inf"], "inf"), (["--lr", "-0.1"], "-0.1"),
    (["--epochs", "-3"], "-3"), (["--epochs", "0"], "--epochs"), (["--batch-size", "0"], "--batch-size"),
    (["--weight-decay", "-1"], "--weight-decay"), (["--label-smoothing", "1"], "--label-smoothing"),
    (["--seed", "-1"], "--seed"), (["--epochs", "2.5"], "2.5"),
    (["--device", "bogus"], "bogus"),
])
def test_nonsense_numbers_and_devices_are_refused(work, args, needle):
    refused(work, ["train", "--out", work / "new.pt", "--model", "mlp", *args], needle)


@pytest.mark.parametrize("args, needle", [
    (["request", "--out", "{w}/r.json", "--kind", "random", "--fraction", "nan"], "nan"),
    (["request", "--out", "{w}/r.json", "--kind", "random", "--count", "0"], "--count"),
    (["retrain", "--request", "{w}/req.json", "--out", "{w}/r.pt", "--epochs", "0"], "--epochs"),
    (["unlearn", "--method", "ft", "--checkpoint", "{w}/orig.pt", "--request", "{w}/req.json", "--out", "{w}/u.pt",
      "--param", "lr=nan"], "lr"),
    (["unlearn", "--method", "ft", "--checkpoint", "{w}/orig.pt", "--request", "{w}/req.json", "--out", "{w}/u.pt",
      "--param", "epochs=2.7"], "2.7"),
    (["unlearn", "--method", "ft", "--checkpoint", "{w}/orig.pt", "--request", "{w}/req.json", "--out", "{w}/u.pt",
      "--param", "lr=-1"], "lr must be > 0"),
    (["evaluate", "--checkpoint", "{w}/orig.pt", "--request", "{w}/req.json", "--device", "gpu0"], "gpu0"),
])
def test_nonsense_values_in_other_commands_are_refused(work, args, needle):
    refused(work, [a.format(w=work) for a in args], needle)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_one_line(work):
    for cmd in (["train", "--out", work / "new.pt", "--model", "mlp"],
                ["evaluate", "--checkpoint", work / "orig.pt", "--request", work / "req.json"]):
        refused(work, [*cmd, "--device", "cuda"], "no GPU is available")


def test_model_that_does_not_fit_the_images_is_one_line(work):
    from PIL import Image

    root = work / "imgs"
    for split in ("train", "test"):
        for cls in ("a", "b"):
            (root / split / cls).mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (40, 40), (i * 90, 10, 200)).save(root / split / cls / f"{i}.png")
    refused(work, ["train", "--out", work / "new.pt", "--model", "lenet5", "--data", "imagefolder",
                   "--data-root", root, "--epochs", "1"], "model lenet5 does not fit the data's images of shape "
            "(3, 224, 224)")


def test_bench_seeds_zero_is_one_line(work):
    refused(work, ["bench", "--seeds", "0", "--out", work / "b"], "--seeds")


def test_old_flag_names_still_work_as_hidden_aliases(work):
    res = runner.invoke(app, ["evaluate", "-m", str(work / "orig.pt"), "--request", str(work / "req.json"),
                              "--device", "cpu"])
    assert res.exit_code == 0, res.output
    refused(work, ["retrain", "--request", work / "req.json", "--original", work / "orig.pt", "--out",
                   work / "old.pt", "--epochs", "1"], "already exists")

"""Hostile input to every `scar` command: each case exits with code 2 and ONE line naming the bad value, no
traceback, and leaves every file in the folder byte-identical (no output, no temporary file left behind)."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import tarfile
import time
from functools import partial
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner
from unlearnkit.scar.cli import app
from unlearnkit.shared.testing import HostilePickle, assert_refused, tree_md5

runner = CliRunner()
snapshot = tree_md5
refused = partial(assert_refused, app, runner=runner)
QUICK = ["--no-mia", "--surrogate", "noise", "--surrogate-quantity", "1", "--epochs", "2", "--device", "cpu",
         "--quiet"]


@pytest.fixture()
def work(tmp_path, original_ckpt):
    """A folder with the session's original model, a forget request and an existing result."""
    (tmp_path / "original.pt").write_bytes(Path(original_ckpt).read_bytes())
    runner.invoke(app, ["sample-forget", "--out", str(tmp_path / "forget.json"), "--count", "30"])
    (tmp_path / "res.json").write_text("{}")
    return tmp_path


@pytest.mark.parametrize("flag,value,needle", [
    ("--temperature", "0", "0"), ("--temperature", "nan", "nan"), ("--lr", "nan", "nan"), ("--lr", "-1", "-1"),
    ("--epochs", "0", "0"), ("--batch-size", "0", "0"), ("--bsize", "0", "0"), ("--device", "bogus", "bogus"),
    ("--delta", "0", "0"), ("--gamma1", "-1", "-1"), ("--target", "1.5", "1.5"), ("--surrogate-quantity", "0", "0"),
    ("--mia-repeats", "0", "0"), ("--lambda_1", "inf", "inf"), ("--num-surrogate-batches", "-1", "-1"),
])
def test_unlearn_numbers_refused_at_the_boundary(work, flag, value, needle):
    refused(work, ["unlearn", "--checkpoint", work / "original.pt", "--classes", "3", "--out", work / "new.json",
                   *QUICK, flag, value], needle)  # after QUICK: the last value of a flag wins


@pytest.mark.parametrize("param,needle", [
    ("target=abc", "target"), ("epochs=2.7", "epochs"), ("freeze_bn=ture", "freeze_bn"), ("nope=1", "nope"),
    ("temperature=0", "temperature"), ("stats_from=oracle", "stats_from"), ("shrinkage=triple", "shrinkage"),
    ("target", "key=value"),
])
def test_typed_param_refused(work, param, needle):
    refused(work, ["unlearn", "--checkpoint", work / "original.pt", "--classes", "3", "--out", work / "new.json",
                   "-p", param, *QUICK], needle)


def test_outputs_checked_before_any_work(work):
    ck = ["--checkpoint", work / "original.pt", "--classes", "3"]
    refused(work, ["unlearn", *ck, "--out", work / "res.json", *QUICK], "res.json", "--overwrite")
    refused(work, ["unlearn", *ck, "--out", work / "original.pt", "--overwrite", *QUICK], "--checkpoint")
    refused(work, ["unlearn", *ck, "--out", work / "a.pt", "--save-model", *QUICK], "a.pt")  # model = <out>.pt
    (work / "b.pt").write_bytes(b"mine")
    refused(work, ["unlearn", *ck, "--out", work / "b.json", "--save_model", *QUICK], "b.pt", "--overwrite")
    refused(work, ["unlearn", *ck, "--out", work / "res.json" / "x.json", *QUICK], "res.json")  # file as folder
    refused(work, ["unlearn", "--checkpoint", work / "original.pt", "--mode", "HR", "--request", work / "forget.json",
                   "--out", work / "forget.json", "--overwrite", *QUICK], "--request")
    refused(work, ["train-original", "--out", work / "original.pt", "--epochs", "1"], "original.pt", "--overwrite")
    refused(work, ["train-original", "--out", work / "x.pt", "--epochs", "0"], "0")
    refused(work, ["train-original", "--out", work / "x.pt", "--data", "nope"], "nope")
    refused(work, ["train-oracle", "--checkpoint", work / "original.pt", "--classes", "3", "--out",
                   work / "original.pt", "--overwrite"], "--checkpoint")
    refused(work, ["sample-forget", "--out", work / "forget.json"], "forget.json")
    refused(work, ["sample-forget", "--out", work / "f2.json", "--count", "0"], "0")
    refused(work, ["unlearn", *ck, "--mode", "XX", "--out", work / "n.json", *QUICK], "XX")
    refused(work, ["unlearn", "--checkpoint", work / "original.pt", "--out", work / "n.json", *QUICK], "--classes")


def test_forged_request_and_hostile_checkpoints(work):
    forged = json.loads((work / "forget.json").read_text())
    forged["indices"] = [-1] + forged["indices"][1:]  # a negative index, checksum left as it was
    (work / "forged.json").write_text(json.dumps(forged))
    refused(work, ["unlearn", "--checkpoint", work / "original.pt", "--mode", "HR", "--request", work / "forged.json",
                   "--out", work / "n.json", *QUICK], "forged.json")
    refused(work, ["unlearn", "--checkpoint", work / "missing.pt", "--classes", "3", "--out", work / "n.json",
                   *QUICK], "missing.pt")
    (work / "garbage.pt").write_bytes(os.urandom(256))
    refused(work, ["unlearn", "--checkpoint", work / "garbage.pt", "--classes", "3", "--out", work / "n.json",
                   *QUICK], "garbage.pt")
    marker = work / "pwned"
    evil = HostilePickle(marker)
    buf = io.BytesIO()
    torch.save({"model": evil}, buf, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    (work / "evil.pt").write_bytes(buf.getvalue())
    refused(work, ["unlearn", "--checkpoint", work / "evil.pt", "--classes", "3", "--out", work / "n.json", *QUICK],
            "evil.pt")
    refused(work, ["train-oracle", "--checkpoint", work / "evil.pt", "--classes", "3", "--out", work / "o.pt"],
            "evil.pt")
    assert not marker.exists()
    # the original model is no reference: it was not retrained for this request
    refused(work, ["unlearn", "--checkpoint", work / "original.pt", "--classes", "3", "--reference",
                   work / "original.pt", "--out", work / "n.json", *QUICK], "--reference")


def _png_bytes(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (seed * 40 % 256, 90, 160)).save(buf, format="PNG")
    return buf.getvalue()


def test_surrogate_never_deletes_and_counts_bad_images(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        (src / f"ok{i}.png").write_bytes(_png_bytes(i))
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    refused(tmp_path, ["surrogate", src, "--out", src, "--overwrite"], "SOURCE")
    refused(tmp_path, ["surrogate", src, "--out", src / "chunks", "--overwrite"], "SOURCE")
    refused(tmp_path, ["surrogate", src, "--out", tmp_path / "o", "--image-size", "0"], "0")
    refused(tmp_path, ["surrogate", src, "--out", tmp_path / "o", "--count", "0"], "0")
    refused(tmp_path, ["surrogate", str(tmp_path / "none-{000..003}.tar"), "--out", tmp_path / "o"], "none-000.tar")
    (tmp_path / "afile").write_text("x")
    refused(tmp_path, ["surrogate", src, "--out", tmp_path / "afile", "--overwrite"], "afile")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"garbage")
    refused(tmp_path, ["surrogate", bad, "--out", tmp_path / "o", "--quiet"], "no readable images",
            "1 corrupt image")
    # an existing output folder with a user's file: --overwrite merges, the file survives
    out = tmp_path / "sur"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    r = runner.invoke(app, ["surrogate", str(src), "--out", str(out), "--overwrite", "--chunk-size", "2",
                            "--quiet"])
    assert r.exit_code == 0, r.output
    assert (out / "notes.txt").read_text() == "keep me"
    assert "skipped 1 corrupt image" in r.output
    assert json.loads((out / "manifest.json").read_text())["count"] == 4


def test_surrogate_shards_truncated_and_corrupt_are_counted(tmp_path):
    with tarfile.open(tmp_path / "s-000.tar", "w") as tar:
        for name, data in [("a.png", _png_bytes(1)), ("b.png", b"not a png"), ("c.png", _png_bytes(2))]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = (tmp_path / "s-000.tar").read_bytes()
    (tmp_path / "s-001.tar").write_bytes(raw[: 512 + len(_png_bytes(1)) // 2])  # ends inside a.png's data
    r = runner.invoke(app, ["surrogate", str(tmp_path / "s-{000..001}.tar"), "--out", str(tmp_path / "o"),
                            "--quiet"])
    assert r.exit_code == 0, r.output
    assert "skipped 1 corrupt image, 1 truncated shard" in r.output


def test_killed_overwrite_run_leaves_the_old_output(tmp_path):
    """SIGKILL while `scar surrogate --overwrite` is writing: the finished output is untouched."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(600):
        Image.new("RGB", (64, 64), (i % 256, 0, 0)).save(src / f"{i:04d}.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"count": 1, "chunks": 1}')
    (out / "class_0").mkdir()
    (out / "class_0" / "000000.png").write_bytes(_png_bytes(0))
    before = snapshot(out)
    code = ("import sys; from unlearnkit.scar.cli import app; "
            "sys.argv = ['scar'] + sys.argv[1:]; app()")
    proc = subprocess.Popen([sys.executable, "-c", code, "surrogate", str(src), "--out", str(out), "--overwrite",
                             "--count", "600", "--image-size", "256", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            staged = [p for p in tmp_path.glob(".out.*.tmp") if any(p.rglob("*.png"))]
            if staged:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert snapshot(out) == before


def test_device_auto_is_accepted(tmp_path):
    r = runner.invoke(app, ["train-original", "--out", str(tmp_path / "o.pt"), "--epochs", "1", "--device", "auto",
                            "--quiet", "--dataset", "digits"])  # --dataset: the published name, a hidden alias
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o.pt").is_file() and (tmp_path / "o.log.jsonl").is_file()


def test_help_shows_only_the_vocabulary():
    """No discouraged spelling (--class, --dataset, --bsize, ...) is a visible option of any command."""
    import typer
    from unlearnkit.shared.cli_options import DISCOURAGED

    group = typer.main.get_command(app)
    opts = {o for c in group.commands.values() for p in c.params for o in p.opts + p.secondary_opts}
    assert not opts & set(DISCOURAGED)
    assert {"--checkpoint", "--out", "--classes", "--data", "--batch-size", "--reference", "--param"} <= opts

"""Hostile input to every `slug` command (and `slug data ...`): each case exits with code 2 and ONE line
naming the bad value, no traceback, and leaves every file in the folder byte-identical."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from functools import partial
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner
from unlearnkit.shared.testing import HostilePickle, assert_refused, tree_md5
from unlearnkit.slug.cli import app

runner = CliRunner()
snapshot = tree_md5
refused = partial(assert_refused, app, runner=runner)


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (seed * 30 % 256, 60, 90)).save(buf, format="PNG")
    return buf.getvalue()


def _tar(path: Path, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture()
def work(tmp_path, digit_shards, trained_clip_path):
    """Shards (one with a corrupt matching image, one truncated), a model, and a forget tar."""
    shards, _ = digit_shards
    for p in shards:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    _tar(tmp_path / "bad.tar", [("k0.png", _png(1)), ("k0.txt", b"the number seven"), ("k1.png", b"corrupt"),
                                ("k1.txt", b"a seven too"), ("k2.png", _png(2)), ("k2.txt", b"a seven again")])
    raw = (tmp_path / "00000.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(raw[: len(raw) // 3])
    (tmp_path / "model.safetensors").write_bytes(Path(trained_clip_path).read_bytes())
    return tmp_path


def test_data_download_numbers_and_url_lists(work):
    csv = work / "urls.csv"
    csv.write_text("url,caption\nfile:///etc/passwd,secret\nftp://127.0.0.1/a.png,ftp\n")
    refused(work, ["data", "download", csv, "--out", work / "dl", "--image-size", "0"], "0")
    refused(work, ["data", "download", csv, "--out", work / "dl", "--threads", "0"], "0")
    refused(work, ["data", "download", csv, "--out", work / "dl", "--processes", "-1"], "-1")
    refused(work, ["data", "download", csv, "--out", work / "dl"], "no http(s) URL", "2 row(s) rejected")
    cols = work / "cols.csv"
    cols.write_text("link,text\nhttp://127.0.0.1/a.png,a\n")
    refused(work, ["data", "download", cols, "--out", work / "dl"], "'url'")
    (work / "broken.parquet").write_bytes(b"PAR1 not a parquet file")
    refused(work, ["data", "download", work / "broken.parquet", "--out", work / "dl"], "broken.parquet")
    refused(work, ["data", "download", work / "missing.csv", "--out", work / "dl"], "missing.csv")
    refused(work, ["data", "download", csv, "--out", csv, "--overwrite"], "urls.csv")
    refused(work, ["data", "download", csv, "--output", work / "00000.tar"], "00000.tar")  # a file, not a folder
    refused(work, ["data", "download", csv, "--out", work, "--overwrite"], "overlaps")  # the list is inside it
    refused(work, ["data", "download", csv, "--out", work / "00000.tar"], "00000.tar")


def test_create_forget_counts_corrupt_and_truncated(work):
    out = work / "seven.tar"
    r = runner.invoke(app, ["data", "create-forget", "--name", "seven", "--shards", str(work / "bad.tar"),
                            "--shards", str(work / "cut.tar"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "skipped 1 corrupt image, 1 truncated shard" in r.output
    with tarfile.open(out) as tar:
        assert "k1.png" not in [m.name for m in tar] and len(tar.getnames()) > 0
    refused(work, ["data", "create-forget", "--name", "seven", "--shards", work / "bad.tar", "--out", out],
            "seven.tar", "--overwrite")
    refused(work, ["data", "create-forget", "--name", "seven", "--shards", work / "bad.tar", "--out",
                   work / "bad.tar", "--overwrite"], "bad.tar")
    refused(work, ["data", "create-forget", "--name", "seven", "--shards", str(work / "{00000..00009}.tar"),
                   "--out", work / "x.tar"], "00003.tar")
    refused(work, ["data", "create-forget", "--name", "seven", "--shards", str(work / "zz-*.tar"),
                   "--out", work / "x.tar"], "zz-*.tar")
    refused(work, ["data", "create-forget", "--name", "seven", "--shards", work / "bad.tar", "--out",
                   work / "x.tar", "--max-images", "0"], "0")
    refused(work, ["data", "create-forget", "--name", "seven", "--shards", work / "bad.tar", "--out",
                   work / "00000.tar" / "x.tar"], "00000.tar")


@pytest.mark.parametrize("extra,needle", [
    (["--batch-size", "0"], "0"), (["--retain-limit", "0"], "0"), (["--device", "bogus"], "bogus"),
])
def test_grads_numbers(work, extra, needle):
    refused(work, ["grads", "--forget", work / "bad.tar", "--retain", work / "00001.tar", "--out", work / "g",
                   "--checkpoint", work / "model.safetensors", *extra], needle)


def test_outputs_and_hostile_models_before_any_work(work):
    ck = ["--checkpoint", work / "model.safetensors"]
    # --out as a file where a folder is expected; --out-dir is the authors' name (hidden alias)
    refused(work, ["grads", "--forget", work / "bad.tar", "--retain", work / "00001.tar", "--out-dir",
                   work / "00000.tar", *ck], "00000.tar")
    refused(work, ["grads", "--forget", work / "nope.tar", "--retain", work / "00001.tar", "--out", work / "g", *ck],
            "nope.tar")
    refused(work, ["layers", "--grads-dir", work / "g", "--out", work, *ck], "forget.safetensors")
    refused(work, ["baseline", "ga", "--forget", work / "bad.tar", "--retain", work / "00001.tar", "--out",
                   work / "00001.tar", "--overwrite", *ck], "00001.tar")
    refused(work, ["baseline", "ga", "--forget", work / "bad.tar", "--retain", work / "00001.tar", "--out",
                   work / "m.safetensors", "--checkpoint", work / "m.safetensors"], "m.safetensors")
    refused(work, ["baseline", "ga", "--forget", work / "bad.tar", "--retain", work / "00001.tar", "--out",
                   work / "m.safetensors", "--lr", "nan", *ck], "nan")
    refused(work, ["baseline", "ga", "--forget", work / "bad.tar", "--retain", work / "00001.tar", "--out",
                   work / "m.safetensors", "--epochs", "0", *ck], "0")
    refused(work, ["baseline", "ga", "--forget", work / "bad.tar", "--retain", work / "00001.tar", "--out",
                   work / "m.safetensors", "-p", "ssd_alpha=abc", *ck], "ssd_alpha")
    refused(work, ["baseline", "nope", "--forget", work / "bad.tar", "--retain", work / "00001.tar", "--out",
                   work / "m.safetensors", *ck], "nope")
    # models: random bytes, a pickle that would run a command, a safetensors file with a bogus config
    (work / "garbage.safetensors").write_bytes(os.urandom(300))
    evil = HostilePickle(work / "pwned")
    buf = io.BytesIO()
    torch.save({"state": evil}, buf, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    (work / "evil.safetensors").write_bytes(buf.getvalue())
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(work / "forged.safetensors"),
              metadata={"open_clip_config": '{"embed_dim": "x", "bogus": 1}', "name": "slug-tiny-clip"})
    for name in ("garbage", "evil", "forged"):
        refused(work, ["grads", "--forget", work / "bad.tar", "--retain", work / "00001.tar", "--out", work / "g",
                       "--checkpoint", work / f"{name}.safetensors"], f"{name}.safetensors")
    assert not (work / "pwned").exists()


@pytest.mark.parametrize("extra,needle", [
    (["--utility-fraction", "0"], "0"), (["--max-iter", "0"], "0"), (["--target", "top3"], "top3"),
    (["--threshold", "-5"], "-5"), (["--device", "cuda:x"], "cuda:x"),
])
def test_unlearn_numbers(work, extra, needle):
    refused(work, ["unlearn", "--name", "seven", "--forget-images", work / "bad.tar", "--grads-dir", work / "g",
                   "--layers", work / "layers.json", "--out", work / "u.safetensors", "--checkpoint",
                   work / "model.safetensors", *extra], needle)


@pytest.fixture()
def searched(work):
    """A gradient file and a layer list, as `slug grads` / `slug layers` leave them (contents unused)."""
    (work / "g").mkdir()
    (work / "g" / "forget.safetensors").write_bytes(b"stand-in")
    (work / "layers.json").write_text("[]")
    return work


def test_unlearn_outputs_checked_before_the_model_loads(searched):
    work = searched
    (work / "broken.json").write_text("{not json")
    refused(work, ["unlearn", "--name", "seven", "--forget-images", work / "bad.tar", "--grads-dir", work / "g",
                   "--layers", work / "broken.json", "--checkpoint", work / "model.safetensors", "--out",
                   work / "u.safetensors"], "broken.json")
    refused(work, ["unlearn", "--name", "seven", "--forget-images", work / "nope.tar", "--grads-dir", work / "g",
                   "--layers", work / "layers.json", "--checkpoint", work / "model.safetensors", "--out",
                   work / "u.safetensors"], "nope.tar")
    common = ["--name", "seven", "--forget-images", work / "bad.tar", "--grads-dir", work / "g", "--layers",
              work / "layers.json", "--checkpoint", work / "model.safetensors"]
    refused(work, ["unlearn", *common, "--out", work / "model.safetensors", "--overwrite"], "--checkpoint")
    refused(work, ["unlearn", *common, "--out", work / "u.safetensors", "--log", work / "bad.tar", "--overwrite"],
            "bad.tar")
    refused(work, ["unlearn", *common, "--out", work / "u.safetensors", "--log", work / "u.json"], "u.json")


def test_demo_numbers(work):
    refused(work, ["demo", "--out", work / "d", "--train-epochs", "0"], "0")
    refused(work, ["demo", "--work-dir", work / "d", "--threshold", "nan"], "nan")
    refused(work, ["demo", "--out", work, "--train-epochs", "1"], "not a slug demo folder")
    refused(work, ["demo", "--out", work / "bad.tar", "--train-epochs", "1"], "bad.tar")


def test_help_shows_only_the_vocabulary():
    import typer
    from unlearnkit.shared.cli_options import DISCOURAGED

    def options(cmd):
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click)
            return {o for c in cmd.commands.values() for o in options(c)}
        return {o for p in cmd.params for o in p.opts + p.secondary_opts}

    opts = options(typer.main.get_command(app))
    assert not opts & set(DISCOURAGED)
    assert {"--out", "--checkpoint", "--device", "--param"} <= opts

"""The core's one shard reader and image decode helper, on hostile files built here."""

from __future__ import annotations

import io
import struct
import tarfile
import zlib

import numpy as np
import pytest
from PIL import Image
from unlearnkit.shared.data.images import ImageDecodeError, check_image, decode_image
from unlearnkit.shared.data.shards import ShardStats, expand_shards, iter_images, iter_samples
from unlearnkit.shared.errors import UnlearnkitError


def _png(seed: int, size: int = 12) -> bytes:
    arr = (np.random.default_rng(seed).random((size, size, 3)) * 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def png_header_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with one tiny IDAT: a bomb by its header alone."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def _write(path, members):
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture()
def shards(tmp_path):
    """Three shards: a good one with a corrupt image and a bomb, a good one, and a truncated copy."""
    _write(tmp_path / "s-000.tar", [("a0.png", _png(0)), ("a0.txt", b"zero"), ("a1.png", b"\x89PNG garbage"),
                                    ("a1.txt", b"corrupt"), ("a2.png", png_header_bomb(20_000, 20_000)),
                                    ("a2.txt", b"bomb"), ("a3.png", _png(3)), ("a3.txt", b"three")])
    _write(tmp_path / "s-001.tar", [(f"b{i}.png", _png(10 + i, 64)) for i in range(4)])
    raw = (tmp_path / "s-001.tar").read_bytes()
    (tmp_path / "s-002.tar").write_bytes(raw[: len(raw) // 2])  # a killed download: ends mid-member
    return tmp_path


def test_corrupt_bomb_and_truncated_are_skipped_and_counted(shards):
    stats = ShardStats()
    got = list(iter_images(str(shards / "s-{000..002}.tar"), stats))
    keys = [k for k, _, _ in got]
    assert keys[:2] == ["s-000.tar/a0", "s-000.tar/a3"]
    assert keys[2:6] == [f"s-001.tar/b{i}" for i in range(4)]
    assert all(k.startswith("s-002.tar/") for k in keys[6:]) and len(keys) < 10  # the readable part only
    assert stats.corrupt_images == 2 and stats.truncated_shards == [str(shards / "s-002.tar")]
    assert stats.summary() == "skipped 2 corrupt images, 1 truncated shard"
    assert got[0][2]["txt"] == b"zero" and got[0][1].mode == "RGB"


def test_bomb_refused_from_its_header_before_decoding():
    with pytest.raises(ImageDecodeError, match="pixel limit"):
        decode_image(png_header_bomb(20_000, 20_000))  # 400 megapixels claimed
    with pytest.raises(ImageDecodeError, match="pixel limit"):
        decode_image(_png(0, 64), max_pixels=1000)
    assert check_image(_png(0)) and not check_image(b"not an image")


def test_a_real_compressible_bomb_is_refused(tmp_path):
    img = Image.new("L", (10_000, 9_000))  # 90 megapixels: just over Pillow's 89.5 M default
    path = tmp_path / "big.png"
    img.save(path, compress_level=1)
    del img
    with pytest.raises(ImageDecodeError, match="pixel limit"):
        decode_image(path)


def test_missing_shards_rejected_in_one_line(tmp_path, shards):
    with pytest.raises(UnlearnkitError, match="not found"):
        expand_shards(str(tmp_path / "nope-{000..001}.tar"))
    with pytest.raises(UnlearnkitError, match="matches no files"):
        expand_shards(str(tmp_path / "zzz-*.tar"))
    with pytest.raises(UnlearnkitError, match="unbalanced"):
        expand_shards(str(tmp_path / "s-{000..001.tar"))
    with pytest.raises(UnlearnkitError, match="no .tar shards"):
        (tmp_path / "empty").mkdir()
        expand_shards(tmp_path / "empty")
    # a folder, a comma list and a brace list all expand in order
    assert expand_shards(f"{shards}/s-000.tar,{shards}/s-{{001,002}}.tar") == \
        [shards / "s-000.tar", shards / "s-001.tar", shards / "s-002.tar"]
    assert expand_shards(tmp_path) == [shards / f"s-00{i}.tar" for i in range(3)]


def test_not_a_tar_counts_as_truncated(tmp_path):
    (tmp_path / "x.tar").write_bytes(b"this is not a tar archive at all" * 40)
    stats = ShardStats()
    assert list(iter_samples([tmp_path / "x.tar"], stats)) == []
    assert len(stats.truncated_shards) == 1


def test_shard_cut_between_members_is_truncated_not_smaller(tmp_path):
    """tarfile stops quietly at a cut member header; the missing end-of-archive blocks give it away."""
    data = _png(1)
    _write(tmp_path / "a.tar", [("x0.png", data), ("x1.png", data)])
    raw = (tmp_path / "a.tar").read_bytes()
    first = 512 + (len(data) + 511) // 512 * 512  # header + padded data of the first member
    (tmp_path / "cut.tar").write_bytes(raw[:first])
    (tmp_path / "half-header.tar").write_bytes(raw[: first + 100])
    for name, n in (("a.tar", 2), ("cut.tar", 1), ("half-header.tar", 1)):
        stats = ShardStats()
        assert len(list(iter_images([tmp_path / name], stats))) == n
        assert len(stats.truncated_shards) == (name != "a.tar"), name

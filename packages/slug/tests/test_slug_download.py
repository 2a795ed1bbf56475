from __future__ import annotations

import functools
import http.server
import threading

import pytest
from PIL import Image
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.slug.download import download
from unlearnkit.slug.shards import iter_shard


def png_bomb(width: int, height: int) -> bytes:
    """A valid, all-black greyscale PNG of width x height pixels, compressed row by row (fast, small)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture()
def http_root(tmp_path):
    """A local HTTP server on 127.0.0.1 serving three generated PNGs (no network needed)."""
    root = tmp_path / "www"
    root.mkdir()
    for i, color in enumerate(["red", "green", "blue"]):
        Image.new("RGB", (40, 30), color).save(root / f"img{i}.png")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture()
def fork_children(monkeypatch):
    """img2dataset hard-codes the spawn start method for its worker pool and its logger process, so each
    child re-imports img2dataset (webdataset -> torch, albumentations -> scipy, pandas: ~10 s apiece on a
    busy core). The test forks them instead: same img2dataset code, children start with the modules loaded."""
    import multiprocessing

    import img2dataset.distributor
    import img2dataset.logger

    fork = multiprocessing.get_context("fork")
    monkeypatch.setattr(img2dataset.distributor, "get_context", lambda method=None: fork)
    monkeypatch.setattr(img2dataset.logger.LoggerProcess, "_Popen", staticmethod(fork.Process._Popen))


def test_img2dataset_local_server_counts_broken_url(tmp_path, http_root, fork_children):
    csv = tmp_path / "urls.csv"
    rows = [(f"{http_root}/img{i}.png", f"a {c} square") for i, c in enumerate(["red", "green", "blue"])]
    rows.append((f"{http_root}/missing.png", "a broken link"))
    csv.write_text("url,caption\n" + "".join(f"{u},{c}\n" for u, c in rows))
    r = download(csv, tmp_path / "out", image_size=16, processes=1, threads=2, timeout=5)
    assert (r.successes, r.failures, r.total) == (3, 1, 4)
    assert r.shards and (tmp_path / "out" / "00000_stats.json").is_file()
    samples = [s for p in r.shards for s in iter_shard(p)]
    assert sorted(s.caption for s in samples) == ["a blue square", "a green square", "a red square"]
    assert all(s.pil().size == (16, 16) for s in samples)
    with pytest.raises(UnlearnkitError, match="overwrite"):
        download(csv, tmp_path / "out")


def test_untrusted_url_list_only_http_merged_output_and_pixel_limit(tmp_path, http_root, fork_children):
    """file:// and ftp:// rows never reach img2dataset (counted); an image over the pixel limit fails and is
    counted; --overwrite merges into the folder and keeps the user's other files."""
    import urllib.parse

    www = urllib.parse.urlparse(http_root)
    (tmp_path / "www" / "big.png").write_bytes(png_bomb(10_000, 10_000))  # 100 megapixels in ~100 kB
    secret = tmp_path / "secret.png"
    Image.new("RGB", (8, 8), "white").save(secret)
    csv = tmp_path / "urls.csv"
    rows = [(f"{http_root}/img0.png", "red"), (f"{http_root}/img1.png", "green"), (f"{http_root}/big.png", "bomb"),
            (f"file://{secret}", "local file"), (f"ftp://{www.hostname}/img2.png", "ftp"), ("data:image/png;base64,AA",
                                                                                          "data url")]
    csv.write_text("url,caption\n" + "".join(f'"{u}",{c}\n' for u, c in rows))
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UnlearnkitError, match="already exists"):
        download(csv, out, image_size=16, threads=2, timeout=5)
    r = download(csv, out, image_size=16, threads=2, timeout=5, overwrite=True)
    assert r.rejected_urls == 3 and (r.successes, r.failures, r.total) == (2, 1, 3)
    assert (out / "notes.txt").read_text() == "mine"
    captions = sorted(s.caption for p in r.shards for s in iter_shard(p))
    assert captions == ["green", "red"] and "rejected 3" in r.summary()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no temp folder left


def test_url_list_checked_before_any_work(tmp_path):
    bad_cols = tmp_path / "cols.csv"
    bad_cols.write_text("link,text\nhttp://127.0.0.1/a.png,a\n")
    with pytest.raises(UnlearnkitError, match="'url'"):
        download(bad_cols, tmp_path / "o1")
    only_files = tmp_path / "files.csv"
    only_files.write_text("url,caption\nfile:///etc/passwd,x\n")
    with pytest.raises(UnlearnkitError, match="no http"):
        download(only_files, tmp_path / "o2")
    garbage = tmp_path / "broken.parquet"
    garbage.write_bytes(b"PAR1 not really")
    with pytest.raises(UnlearnkitError, match="cannot read url list"):
        download(garbage, tmp_path / "o3")
    with pytest.raises(UnlearnkitError, match="threads"):
        download(only_files, tmp_path / "o4", threads=0)
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 5))

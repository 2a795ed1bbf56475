from __future__ import annotations

import functools
import http.server
import threading

import pytest
from PIL import Image
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.slug.download import download
from unlearnkit.slug.shards import iter_shard


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


def test_download_without_img2dataset_is_one_line_hint(tmp_path, monkeypatch):
    """img2dataset is the optional ``[download]`` extra: without it the user is told how to get it (the CLI
    prints the UnlearnkitError as one ``Error:`` line, exit code 2)."""
    import sys

    monkeypatch.setitem(sys.modules, "img2dataset", None)  # what an install without the extra looks like
    csv = tmp_path / "urls.csv"
    csv.write_text("url,caption\nhttp://127.0.0.1:9/x.png,x\n")
    hint = "slug data download needs img2dataset: pip install 'unlearnkit-slug[download]'"
    with pytest.raises(UnlearnkitError) as err:
        download(csv, tmp_path / "out")
    assert str(err.value) == hint and not (tmp_path / "out").exists()

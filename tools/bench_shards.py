"""Throughput of the core's shard reader (``unlearnkit.shared.data.shards``) against a bare tarfile stream.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_shards.py [--samples 2000] [--size 64] [--repeats 3]

Writes webdataset shards of random PNGs (+ txt captions) to a temporary folder, then reads them in one
process: (a) a bare ``tarfile`` pipe-mode pass (the floor: what the former hand-rolled readers did), (b) the
core's ``iter_samples`` (webdataset's tar iterators, key grouping, end-of-archive check), (c) ``iter_images``
(plus the bomb-limited decode of every image). Prints samples/s and the ratios to (a); compare ratios only.
"""

from __future__ import annotations

import argparse
import io
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from unlearnkit.shared.data.shards import ShardStats, iter_images, iter_samples


def write_shards(root: Path, samples: int, size: int, per_shard: int = 500) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for s in range(0, samples, per_shard):
        path = root / f"{s // per_shard:05d}.tar"
        with tarfile.open(path, "w") as tar:
            for i in range(s, min(samples, s + per_shard)):
                buf = io.BytesIO()
                Image.fromarray((rng.random((size, size, 3)) * 255).astype("uint8")).save(buf, format="PNG")
                for name, data in ((f"{i:08d}.png", buf.getvalue()), (f"{i:08d}.txt", b"a caption")):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        paths.append(path)
    return paths


def bare_tarfile(paths: list[Path]) -> int:
    n = 0
    for p in paths:
        with tarfile.open(p, mode="r|*") as tar:
            for m in tar:
                if m.isfile():
                    tar.extractfile(m).read()
                    n += m.name.endswith(".png")
    return n


def timed(fn, repeats: int) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t0)
    return best, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_shards(Path(tmp), args.samples, args.size)
        runs = {
            "bare tarfile stream": lambda: bare_tarfile(paths),
            "core iter_samples": lambda: sum(1 for _ in iter_samples(paths, ShardStats())),
            "core iter_images (decode)": lambda: sum(1 for _ in iter_images(paths, ShardStats())),
        }
        base = None
        for name, fn in runs.items():
            sec, n = timed(fn, args.repeats)
            base = base or sec
            print(f"{name:28s} {n:6d} samples  {n / sec:10.0f} samples/s  x{sec / base:.2f} the bare pass's time")


if __name__ == "__main__":
    main()

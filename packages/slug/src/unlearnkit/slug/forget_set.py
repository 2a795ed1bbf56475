"""Forget set by name: every shard sample whose caption mentions the name goes into one tar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from unlearnkit.shared.outputs import plan_outputs

from ._core import UnlearnkitError
from .progress import progress_bar
from .shards import ShardStats, ShardWriter, expand_shards, iter_shard


@dataclass
class ForgetSetReport:
    path: Path
    matched: int
    scanned: int
    shards: int
    stats: ShardStats | None = None

    @property
    def skipped(self) -> str:
        """``"skipped 3 corrupt images, 1 truncated shard"`` or ""."""
        return self.stats.summary() if self.stats is not None else ""


def caption_matches(caption: str, name: str) -> bool:
    """Case-insensitive substring match, as the paper builds its forget sets."""
    return name.casefold() in caption.casefold()


def create_forget_set(name: str, shards: Sequence[str | Path], out: str | Path, max_images: int | None = None,
                      overwrite: bool = False) -> ForgetSetReport:
    """Stream the shards once, writing matches as they come (memory stays one sample deep); stop at
    ``max_images``. Writes ``out`` atomically; an empty result is an error, not an empty file. Matching
    samples whose image does not decode (corrupt, decompression bomb) and truncated shards are skipped and
    counted (``report.stats``)."""
    if not name.strip():
        raise UnlearnkitError("--name must not be empty")
    if max_images is not None and max_images < 1:
        raise UnlearnkitError("--max-images must be at least 1")
    paths = expand_shards(shards)
    out = plan_outputs({"--out": out}, inputs={f"--shards {p}": p for p in paths}, overwrite=overwrite)["--out"]
    stats = ShardStats()
    scanned = 0
    writer = ShardWriter(out)
    try:
        with progress_bar(f"searching captions for {name!r}", total=len(paths)) as advance:
            for p in paths:
                for sample in iter_shard(p, stats):
                    scanned += 1
                    if caption_matches(sample.caption, name) and sample.decodes(stats):
                        sample.meta = {**sample.meta, "source_shard": p.name, "source_key": sample.key}
                        sample.key = f"{writer.count:08d}"
                        writer.write(sample)
                        if max_images is not None and writer.count >= max_images:
                            break
                advance(1)
                if max_images is not None and writer.count >= max_images:
                    break
    except BaseException:
        writer.abort()
        raise
    if writer.count == 0:
        writer.abort()
        extra = f"; {stats.summary()}" if stats.skipped() else ""
        raise UnlearnkitError(f"no caption in {len(paths)} shard(s) ({scanned} samples) contains {name!r}{extra}")
    writer.close()
    return ForgetSetReport(out, writer.count, scanned, len(paths), stats)

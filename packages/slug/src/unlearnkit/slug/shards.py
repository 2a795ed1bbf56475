"""LAION-style webdataset shards as ``Sample`` objects (``{key}.jpg / .txt / .json``), and the shard writer.

Reading goes through the core's one shard reader (``unlearnkit.shared.data.shards``: webdataset's tar
iterators, brace patterns, truncated shards and corrupt images skipped and counted in a ``ShardStats``);
a shard is streamed sample by sample, so a reader never holds more than one sample in memory whatever the
shard size. Images are decoded by the core's helper, with its decompression-bomb limit.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unlearnkit.shared.data.images import ImageDecodeError, decode_image
from unlearnkit.shared.data.shards import ShardStats, image_member, iter_samples
from unlearnkit.shared.data.shards import expand_shards as _expand

__all__ = ["Sample", "ShardStats", "ShardWriter", "expand_shards", "iter_shard", "iter_shards", "read_samples",
           "encode_image"]


@dataclass
class Sample:
    """One image-caption pair as stored in a shard (image kept as encoded bytes)."""

    key: str
    image: bytes
    caption: str
    meta: dict[str, Any] = field(default_factory=dict)
    image_ext: str = "jpg"

    def pil(self):
        """The decoded RGB image (the core's decode helper: corrupt or bomb -> ImageDecodeError)."""
        return decode_image(self.image, name=f"{self.meta.get('__shard__', 'shard')}/{self.key}")

    def decodes(self, stats: ShardStats | None = None) -> bool:
        """True when the image decodes; a failure is counted in ``stats``."""
        try:
            self.pil()
        except ImageDecodeError as err:
            if stats is not None:
                stats.note_corrupt(str(err))
            return False
        return True


def _to_sample(raw: dict[str, Any]) -> Sample | None:
    img_ext = image_member(raw)
    if img_ext is None:
        return None  # img2dataset leaves caption-only entries when a download failed; skip them
    caption = raw.get("txt", b"").decode("utf-8", errors="replace").strip()
    meta: dict[str, Any] = {}
    if "json" in raw:
        try:
            meta = json.loads(raw["json"])
        except (json.JSONDecodeError, UnicodeDecodeError):
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
    meta.setdefault("__shard__", Path(raw.get("__url__", "")).name)
    return Sample(key=raw["__key__"], image=raw[img_ext], caption=caption, meta=meta, image_ext=img_ext)


def expand_shards(specs: str | Path | Sequence[str | Path]) -> list[Path]:
    """Files, folders (every ``*.tar``), brace ranges (``data/{00000..00003}.tar``), globs; nothing matched is
    an error in one line (the core's ``expand_shards``)."""
    return _expand(specs)


def iter_shards(paths: Iterable[str | Path] | str | Path, stats: ShardStats | None = None, *,
                verify: bool = False) -> Iterator[Sample]:
    """Stream the samples of shards in order; ``verify`` decodes each image and skips (counts) corrupt ones."""
    stats = stats if stats is not None else ShardStats()
    specs = [paths] if isinstance(paths, (str, Path)) else list(paths)
    for raw in iter_samples(specs, stats):
        sample = _to_sample(raw)
        if sample is None or (verify and not sample.decodes(stats)):
            continue
        yield sample


def iter_shard(path: str | Path, stats: ShardStats | None = None, *, verify: bool = False) -> Iterator[Sample]:
    """Stream the samples of one tar shard (or pattern) in order."""
    return iter_shards([path], stats, verify=verify)


def read_samples(paths: Iterable[str | Path] | str | Path, stats: ShardStats | None = None) -> list[Sample]:
    """Every sample with a decodable image, in memory (forget sets: a few hundred images)."""
    return list(iter_shards(paths, stats, verify=True))


class ShardWriter:
    """Write samples into one tar in webdataset layout; used for forget sets and the demo's shards."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.partial")
        self._tar = tarfile.open(self._tmp, mode="w")
        self.count = 0

    def _add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 0  # reproducible bytes for identical input
        self._tar.addfile(info, io.BytesIO(data))

    def write(self, sample: Sample) -> None:
        self._add(f"{sample.key}.{sample.image_ext}", sample.image)
        self._add(f"{sample.key}.txt", sample.caption.encode("utf-8"))
        meta = {k: v for k, v in sample.meta.items() if not k.startswith("__")}
        self._add(f"{sample.key}.json", json.dumps(meta, sort_keys=True).encode("utf-8"))
        self.count += 1

    def close(self) -> None:
        """Finish the tar and move it into place: a crash never leaves a half-written shard under the name."""
        import os

        self._tar.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._tar.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.abort()


def encode_image(img, fmt: str = "png") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG" if fmt == "png" else "JPEG")
    return buf.getvalue()

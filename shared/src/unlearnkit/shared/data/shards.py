"""Reading webdataset tar shards: one reader for every package (SLUG's LAION shards, SCAR's surrogate shards).

Shard patterns use webdataset's notation (``data/{00000..00099}.tar``, expanded by ``braceexpand``), plus
globs, comma lists and folders (every ``*.tar`` inside). Samples are grouped by key with webdataset's own
tar iterators. Scraped shards are untrusted, so a shard that ends early (a killed download) and an image
that does not decode (corrupt, or a decompression bomb, see :mod:`.images`) are skipped and counted in a
:class:`ShardStats` that the command prints at the end ("skipped 3 corrupt images, 1 truncated shard").
A pattern that matches no file is refused in one line before any work.
"""

from __future__ import annotations

import glob as _glob
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UnlearnkitError
from .images import IMAGE_EXTENSIONS, MAX_IMAGE_PIXELS, ImageDecodeError, decode_image

__all__ = ["ShardStats", "expand_shards", "iter_samples", "iter_images", "image_member", "IMAGE_MEMBERS"]

# Sample members that hold an image, in the order they are looked for (img2dataset writes jpg).
IMAGE_MEMBERS = tuple(e.lstrip(".") for e in IMAGE_EXTENSIONS)


@dataclass
class ShardStats:
    """What a pass over shards read and what it had to skip."""

    shards: int = 0
    samples: int = 0
    images: int = 0
    corrupt_images: int = 0
    truncated_shards: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # the first few skip reasons, for the user

    def skipped(self) -> bool:
        return bool(self.corrupt_images or self.truncated_shards)

    def note_corrupt(self, reason: str) -> None:
        self.corrupt_images += 1
        if len(self.examples) < 3:
            self.examples.append(reason)

    def summary(self) -> str:
        """``"skipped 3 corrupt images, 1 truncated shard"`` ("" when nothing was skipped)."""
        parts = []
        if self.corrupt_images:
            parts.append(f"{self.corrupt_images} corrupt image{'s' if self.corrupt_images != 1 else ''}")
        n = len(self.truncated_shards)
        if n:
            parts.append(f"{n} truncated shard{'s' if n != 1 else ''}")
        return f"skipped {', '.join(parts)}" if parts else ""

    def to_dict(self) -> dict[str, Any]:
        return {"shards": self.shards, "samples": self.samples, "images": self.images,
                "corrupt_images": self.corrupt_images, "truncated_shards": list(self.truncated_shards)}


def _expand_one(spec: str) -> list[Path]:
    import braceexpand

    out: list[Path] = []
    try:
        items = list(braceexpand.braceexpand(spec))
    except braceexpand.UnbalancedBracesError:
        raise UnlearnkitError(f"shard pattern {spec!r} has unbalanced braces") from None
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            found = sorted(p.glob("*.tar"))
            if not found:
                raise UnlearnkitError(f"no .tar shards in folder {p}")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        elif _glob.has_magic(item):
            out.extend(Path(f) for f in sorted(_glob.glob(os.path.expanduser(item))) if Path(f).is_file())
        else:
            raise UnlearnkitError(f"shard {p} not found")
    return out


def _split_commas(text: str) -> list[str]:
    """Split a comma list, keeping commas inside braces (``{a,b}.tar``) for braceexpand."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "{") - (ch == "}")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def expand_shards(specs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Shard files from patterns: files, folders, ``{000..009}`` ranges, globs, comma-separated lists.

    Every part must match at least one file: a typo in a range is an error, not a silently smaller data set.
    """
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    out: list[Path] = []
    for spec in specs:
        text = str(spec)
        parts = [text] if Path(text).exists() else _split_commas(text)
        for part in parts:
            found = _expand_one(part)
            if not found:
                raise UnlearnkitError(f"shard pattern {part!r} matches no files")
            out.extend(found)
    if not out:
        raise UnlearnkitError("no shards given")
    return out


def _shard_samples(path: Path, stats: ShardStats) -> Iterator[dict[str, Any]]:
    """webdataset samples of one shard; a read error ends the shard and marks it truncated."""
    from webdataset.tariterators import group_by_keys, tar_file_expander

    failed: list[Exception] = []

    def handler(exn: Exception) -> bool:
        failed.append(exn)
        return False  # stop reading this shard: after a tar error its stream position is unreliable

    stats.shards += 1
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, the generator may be abandoned mid-shard
        complete = _has_end_marker(fh)
    except OSError as err:
        raise UnlearnkitError(f"cannot read shard {path}: {err.strerror or err}") from None
    try:
        files = tar_file_expander([{"url": str(path), "stream": fh}], handler=handler)
        for sample in group_by_keys(files, handler=handler):
            stats.samples += 1
            yield sample
    finally:
        fh.close()
    if failed or not complete:
        stats.truncated_shards.append(str(path))


def _has_end_marker(fh) -> bool:
    """A complete plain tar ends with two zero blocks (then zero padding) and is a whole number of blocks.

    Python's tarfile (under webdataset) ends quietly when a file stops at or inside a member header, so a
    download killed between members would otherwise pass for a complete, smaller shard. Compressed shards
    are not checked here (their decompressor reports a cut itself).
    """
    head = fh.read(2)
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    ok = True
    if head != b"\x1f\x8b":  # not gzip
        if size % 512 or size < 1024:
            ok = False
        else:
            fh.seek(size - 1024)
            ok = fh.read(1024) == bytes(1024)
    fh.seek(0)
    return ok


def iter_samples(shards: Sequence[str | os.PathLike], stats: ShardStats | None = None) -> Iterator[dict[str, Any]]:
    """Raw webdataset samples (``__key__``, ``__url__``, one bytes entry per member extension), shard by shard.

    ``shards`` are patterns (see :func:`expand_shards`), expanded before the first sample is read.
    """
    stats = stats if stats is not None else ShardStats()
    paths = expand_shards(shards)
    for path in paths:
        yield from _shard_samples(path, stats)


def image_member(sample: dict[str, Any]) -> str | None:
    """The extension of the sample's image member (``jpg``, ``png``, ...), or None (caption-only sample)."""
    return next((e for e in IMAGE_MEMBERS if e in sample), None)


def iter_images(shards: Sequence[str | os.PathLike], stats: ShardStats | None = None, *, mode: str = "RGB",
                max_pixels: int = MAX_IMAGE_PIXELS) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """``(key, PIL image, raw sample)`` for every sample with a decodable image; the others are counted."""
    stats = stats if stats is not None else ShardStats()
    for sample in iter_samples(shards, stats):
        ext = image_member(sample)
        if ext is None:
            continue
        key = f"{Path(sample.get('__url__', '')).name}/{sample['__key__']}"
        try:
            img = decode_image(sample[ext], mode=mode, max_pixels=max_pixels, name=key)
        except ImageDecodeError as err:
            stats.note_corrupt(str(err))
            continue
        stats.images += 1
        yield key, img, sample

"""LAION-style webdataset shards: reading and writing ``{key}.jpg / .txt / .json`` samples.

Shards are streamed member by member (tarfile's pipe mode), so a reader never holds more than one sample
in memory whatever the shard size; that is what lets create-forget walk hundreds of LAION shards.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._core import UnlearnkitError

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")


@dataclass
class Sample:
    """One image-caption pair as stored in a shard (image kept as encoded bytes)."""

    key: str
    image: bytes
    caption: str
    meta: dict[str, Any] = field(default_factory=dict)
    image_ext: str = "jpg"

    def pil(self):
        from PIL import Image

        return Image.open(io.BytesIO(self.image)).convert("RGB")


def _split_name(name: str) -> tuple[str, str]:
    """webdataset's key rule: the key is everything before the first dot of the basename."""
    base = name.rsplit("/", 1)[-1]
    prefix = name[: len(name) - len(base)]
    if "." not in base:
        return name, ""
    stem, ext = base.split(".", 1)
    return prefix + stem, ext.lower()


def _to_sample(key: str, members: dict[str, bytes], source: str) -> Sample | None:
    img_ext = next((e for e in IMAGE_EXTS if e in members), None)
    if img_ext is None:
        return None  # img2dataset leaves caption-only entries when a download failed; skip them
    caption = members.get("txt", b"").decode("utf-8", errors="replace").strip()
    meta: dict[str, Any] = {}
    if "json" in members:
        try:
            meta = json.loads(members["json"])
        except json.JSONDecodeError:
            meta = {}
    meta.setdefault("__shard__", source)
    return Sample(key=key, image=members[img_ext], caption=caption, meta=meta, image_ext=img_ext)


def iter_shard(path: str | Path) -> Iterator[Sample]:
    """Stream the samples of one tar shard in order."""
    path = Path(path)
    if not path.is_file():
        raise UnlearnkitError(f"shard {path} not found")
    key: str | None = None
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r|*") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                k, ext = _split_name(info.name)
                if key is not None and k != key:
                    sample = _to_sample(key, members, path.name)
                    if sample is not None:
                        yield sample
                    members = {}
                key = k
                fh = tar.extractfile(info)
                members[ext] = fh.read() if fh is not None else b""
    except tarfile.TarError as exc:
        raise UnlearnkitError(f"{path} is not a readable tar shard ({exc})") from exc
    if key is not None:
        sample = _to_sample(key, members, path.name)
        if sample is not None:
            yield sample


def iter_shards(paths: Iterable[str | Path]) -> Iterator[Sample]:
    for p in paths:
        yield from iter_shard(p)


def expand_shards(specs: Sequence[str | Path]) -> list[Path]:
    """Accept files, folders (every ``*.tar`` inside, sorted) and brace ranges (``data/{00000..00003}.tar``)."""
    import braceexpand

    out: list[Path] = []
    for spec in specs:
        for item in braceexpand.braceexpand(str(spec)):
            p = Path(item)
            if p.is_dir():
                found = sorted(p.glob("*.tar"))
                if not found:
                    raise UnlearnkitError(f"no .tar shards in {p}")
                out.extend(found)
            elif p.is_file():
                out.append(p)
            else:
                raise UnlearnkitError(f"shard {p} not found")
    if not out:
        raise UnlearnkitError("no shards given")
    return out


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

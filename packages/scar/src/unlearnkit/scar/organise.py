"""``scar surrogate``: turn any pile of images into the published chunk layout.

The published workflow samples 10,000 surrogate images and stores them as ``class_0 .. class_9`` folders of
1,000 images each, so ``--surrogate-quantity k`` can pick the first k thousand. We write the same layout,
resized to the model's input size (PNG, lossless) plus a manifest that says where each image came from.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import save_json

from .surrogate import expand_shards, image_files, iter_shard_images

__all__ = ["organise_surrogate"]


def _folder_images(root: Path, files: list[Path]) -> Iterator[tuple[str, Image.Image]]:
    for f in files:
        try:
            with Image.open(f) as img:
                yield str(f.relative_to(root)), img.convert("RGB")
        except OSError:
            continue  # unreadable files are skipped, not fatal: surrogate data is scraped data


def organise_surrogate(source: str | Path, out: str | Path, *, image_size: int, chunk_size: int = 1000,
                       count: int = 10_000, seed: int = 0, overwrite: bool = False, progress: bool = False) -> dict:
    """Sample ``count`` images (seeded) from an image folder or webdataset shards into chunk folders.

    Returns the manifest (also written to ``out/manifest.json``). An existing non-empty ``out`` is only
    replaced with ``overwrite``.
    """
    if chunk_size < 1 or count < 1:
        raise UnlearnkitError("chunk size and count must be positive")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise UnlearnkitError(f"{out} is not empty; pass --overwrite to replace it")
        shutil.rmtree(out)
    src = Path(source)
    rng = np.random.default_rng(seed)
    if src.is_dir() and not list(src.glob("*.tar")):
        files = image_files(src)
        if not files:
            raise UnlearnkitError(f"no images under {src}")
        pick = sorted(rng.permutation(len(files))[: min(count * 2, len(files))])  # spare for unreadable ones
        images = _folder_images(src, [files[i] for i in rng.permutation(pick)])
    else:
        shards = expand_shards(str(source))
        if not shards:
            raise UnlearnkitError(f"{source} is neither an image folder nor webdataset shards")
        images = iter_shard_images(shards)
    from rich.progress import track

    written: list[dict] = []
    for key, img in track(images, description="organising", total=count, disable=not progress):
        k = len(written)
        chunk = out / f"class_{k // chunk_size}"
        chunk.mkdir(parents=True, exist_ok=True)
        name = f"{k:06d}.png"
        img.resize((image_size, image_size), Image.Resampling.BICUBIC).save(chunk / name)
        written.append({"file": f"{chunk.name}/{name}", "source": key})
        if len(written) >= count:
            break
    if not written:
        raise UnlearnkitError(f"no readable images in {source}")
    manifest = {"source": str(source), "count": len(written), "chunk_size": chunk_size,
                "chunks": (len(written) + chunk_size - 1) // chunk_size, "image_size": image_size, "seed": seed,
                "images": written}
    save_json(out / "manifest.json", manifest)
    return manifest

"""``scar surrogate``: turn any pile of images into the published chunk layout.

The published workflow samples 10,000 surrogate images and stores them as ``class_0 .. class_9`` folders of
1,000 images each, so ``--surrogate-quantity k`` can pick the first k thousand. We write the same layout,
resized to the model's input size (PNG, lossless) plus a manifest that says where each image came from.

The output folder is built in a fresh temporary folder and merged into place at the end
(``unlearnkit.shared.outputs.staged_folder``): ``--overwrite`` replaces the chunk files and the manifest,
never deletes anything else, and a killed run leaves the previous output as it was. The manifest records how
many chunks belong to this run, so the ``folder`` surrogate source ignores chunks of an older, larger run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from unlearnkit.shared.data.images import ImageDecodeError, decode_image
from unlearnkit.shared.data.shards import ShardStats, expand_shards, iter_images
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import save_json
from unlearnkit.shared.outputs import plan_outputs, staged_folder

from .surrogate import image_files

__all__ = ["organise_surrogate"]


def _folder_images(root: Path, files: list[Path], stats: ShardStats) -> Iterator[tuple[str, Image.Image]]:
    for f in files:
        try:
            img = decode_image(f)
        except ImageDecodeError as err:
            stats.note_corrupt(str(err))  # scraped data: unreadable files are skipped and counted, not fatal
            continue
        stats.images += 1
        yield str(f.relative_to(root)), img


def organise_surrogate(source: str | Path, out: str | Path, *, image_size: int, chunk_size: int = 1000,
                       count: int = 10_000, seed: int = 0, overwrite: bool = False, progress: bool = False) -> dict:
    """Sample ``count`` images (seeded) from an image folder or webdataset shards into chunk folders.

    Returns the manifest (also written to ``out/manifest.json``), with ``skipped`` counts of corrupt
    images and truncated shards. An existing ``out`` is only written into with ``overwrite``.
    """
    for name, value in (("image size", image_size), ("chunk size", chunk_size), ("count", count)):
        if not isinstance(value, int) or value < 1:
            raise UnlearnkitError(f"{name} must be an integer >= 1, got {value!r}")
    src = Path(source)
    out = Path(out)
    plan_outputs(folders={"--out": out}, inputs={"SOURCE": src if src.exists() else None}, overwrite=overwrite)
    rng = np.random.default_rng(seed)
    stats = ShardStats()
    if src.is_dir() and not list(src.glob("*.tar")):
        files = image_files(src)
        if not files:
            raise UnlearnkitError(f"no images under {src}")
        pick = sorted(rng.permutation(len(files))[: min(count * 2, len(files))])  # spare for unreadable ones
        images = _folder_images(src, [files[i] for i in rng.permutation(pick)], stats)
    else:
        shards = expand_shards(str(source))  # one line when nothing matches
        for s in shards:  # shards inside the output folder would be read while it is being replaced
            plan_outputs(folders={"--out": out}, inputs={"SOURCE": s}, overwrite=True)
        images = ((key, img) for key, img, _ in iter_images(shards, stats))
    from rich.progress import track

    written: list[dict] = []
    with staged_folder(out) as tmp:
        for key, img in track(images, description="organising", total=count, disable=not progress):
            k = len(written)
            chunk = tmp / f"class_{k // chunk_size}"
            chunk.mkdir(parents=True, exist_ok=True)
            name = f"{k:06d}.png"
            img.resize((image_size, image_size), Image.Resampling.BICUBIC).save(chunk / name)
            written.append({"file": f"{chunk.name}/{name}", "source": key})
            if len(written) >= count:
                break
        if not written:
            detail = f" ({stats.summary()})" if stats.skipped() else ""
            raise UnlearnkitError(f"no readable images in {source}{detail}")
        manifest = {"source": str(source), "count": len(written), "chunk_size": chunk_size,
                    "chunks": (len(written) + chunk_size - 1) // chunk_size, "image_size": image_size,
                    "seed": seed, "skipped": stats.to_dict() | {"summary": stats.summary()}, "images": written}
        save_json(tmp / "manifest.json", manifest)
    return manifest

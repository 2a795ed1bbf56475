"""Surrogate (out-of-distribution) images: where SCAR gets data without touching the retain set.

A *source* turns a user's choice (photo crops, noise, an image folder, webdataset shards, another registered
data set) into a Dataset of ``(image, -1)`` pairs already in the target model's input format: same size,
channel count and normalisation as the data set being unlearned. Sources live in a registry, so adding one is
one decorated function.

Surrogate images carry no label (``-1``): SCAR only ever uses the original model's predictions on them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from unlearnkit.shared.data import DatasetInfo, dataset_info, load_dataset
from unlearnkit.shared.data.images import IMAGE_EXTENSIONS, ImageDecodeError, decode_image
from unlearnkit.shared.data.shards import ShardStats, expand_shards, iter_images
from unlearnkit.shared.data.transforms import pil_transform
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.registry import Registry

__all__ = [
    "SOURCES",
    "SurrogateSpec",
    "TensorSurrogate",
    "FileSurrogate",
    "build_surrogate",
    "surrogate_transform",
    "photo_crops",
    "gaussian_noise",
    "IMAGE_EXTENSIONS",
    "expand_shards",
]

NO_LABEL = -1

# Data sets whose images were stored at a lower resolution than they are served at: surrogate images are
# first brought down to that resolution so they share the blur of the real inputs (digits are 8x8 scans).
NATIVE_SIZE = {"digits": 8}


@dataclass
class SurrogateSpec:
    """Where surrogate images come from and how many to use.

    ``source``: a registered source name (``photos``, ``noise``, ``folder``, ``webdataset``, ``dataset``).
    ``path``: folder / shard pattern / data set name, depending on the source. ``quantity``: number of
    1,000-image chunks to use from a chunk folder (the published ``--surrogate_quantity``), or, for generated
    sources, thousands of images to make.
    """

    source: str = "photos"
    path: str | None = None
    quantity: int = 10
    chunk_size: int = 1000
    seed: int = 0
    root: str | None = None  # data root for source="dataset"

    @property
    def count(self) -> int:
        return self.quantity * self.chunk_size


class TensorSurrogate(Dataset):
    """Surrogate images held in memory as one ``(N, C, H, W)`` tensor."""

    def __init__(self, images: torch.Tensor, description: str = ""):
        self.images = images
        self.description = description

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i], NO_LABEL


class FileSurrogate(Dataset):
    """Surrogate images read lazily from files (large sets at 224 px would not fit in memory).

    Build it with :meth:`checked`: every file is decoded once up front (the core's decode helper, with its
    decompression-bomb limit), and corrupt ones are left out and counted in ``skipped``, so a scraped folder
    never crashes a run half-way through an epoch.
    """

    def __init__(self, files: list[Path], transform: Callable, description: str = "", skipped: int = 0):
        self.files = files
        self.transform = transform
        self.description = description
        self.skipped = skipped

    @classmethod
    def checked(cls, files: list[Path], transform: Callable, description: str = "") -> FileSurrogate:
        good, bad = [], 0
        for f in files:
            try:
                decode_image(f, mode=None)
                good.append(f)
            except ImageDecodeError:
                bad += 1
        if bad:
            description += f" (skipped {bad} corrupt image{'s' if bad != 1 else ''})"
        return cls(good, transform, description, skipped=bad)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        return self.transform(decode_image(self.files[i])), NO_LABEL


def surrogate_transform(info: DatasetInfo) -> Callable:
    """PIL image -> tensor in ``info``'s format (passing through the data set's native resolution)."""
    # torchvision is imported lazily: seconds of start-up that the digits path never needs.
    from torchvision import transforms as T

    native = NATIVE_SIZE.get(info.name)
    steps: list = [T.Resize((native, native), antialias=True)] if native else []
    return T.Compose([*steps, pil_transform(info, augment=False)])


Source = Callable[[SurrogateSpec, DatasetInfo], Dataset]
SOURCES: Registry[Source] = Registry("surrogate source")


def build_surrogate(spec: SurrogateSpec, info: DatasetInfo) -> Dataset:
    """The surrogate Dataset for a model trained on a data set described by ``info``."""
    if spec.quantity < 1:
        raise UnlearnkitError(f"surrogate quantity must be at least 1 chunk, got {spec.quantity}")
    return SOURCES.get(spec.source)(spec, info)


# --- generated sources ----------------------------------------------------------------------------------


_CROP_CHUNK = 512


@SOURCES.register("photos", aliases=("sample-images", "sklearn-photos"))
def photo_crops(spec: SurrogateSpec, info: DatasetInfo) -> Dataset:
    """Random crops of scikit-learn's two bundled photographs (a temple and a flower), offline.

    Crop sides vary from 16 px to half the photo and crops are randomly flipped, so the patches range from
    textures to object parts: natural-image statistics, yet nothing like the target classes. All crops are
    cut and resized in one batched ``roi_align`` call (area-like averaging), which is ~1000x faster than a
    PIL pipeline per crop.
    """
    from sklearn.datasets import load_sample_images
    from torchvision.ops import roi_align

    photos = torch.stack([torch.from_numpy(np.array(a)).permute(2, 0, 1).float() / 255.0
                          for a in load_sample_images().images])  # (2, 3, H, W), both 427x640
    if info.in_chans == 1:
        photos = (photos * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif info.in_chans != 3:
        photos = photos.mean(1, keepdim=True).expand(-1, info.in_chans, -1, -1)
    rng = np.random.default_rng(spec.seed)
    _, _, h, w = photos.shape
    n = spec.count
    side = rng.integers(16, min(h, w) // 2 + 1, size=n).astype(np.float32)
    x0 = rng.random(n).astype(np.float32) * (w - side)
    y0 = rng.random(n).astype(np.float32) * (h - side)
    which = rng.integers(len(photos), size=n).astype(np.float32)
    boxes = torch.from_numpy(np.stack([which, x0, y0, x0 + side, y0 + side], 1))
    size = NATIVE_SIZE.get(info.name, info.image_size)
    # Sample 4x finer than the output with 2x2 points per bin, then average 4x4 blocks: 8x8 samples per
    # output pixel, enough anti-aliasing at a bounded cost (adaptive sampling would read every pixel).
    # In chunks: the 4x-finer samples of all crops at once would be n x C x 16 size^2 floats (2 GB for 10,240
    # CIFAR-sized crops); per chunk they stay under ~100 MB, and each crop's pixels are the same.
    crops = torch.cat([
        torch.nn.functional.avg_pool2d(
            roi_align(photos, boxes[i:i + _CROP_CHUNK], output_size=(4 * size, 4 * size), spatial_scale=1.0,
                      sampling_ratio=2, aligned=True), 4)
        for i in range(0, n, _CROP_CHUNK)])
    if size != info.image_size:
        crops = torch.nn.functional.interpolate(crops, size=(info.image_size,) * 2, mode="bilinear",
                                                align_corners=False)
    flip = torch.from_numpy(rng.random(n) < 0.5)
    crops[flip] = crops[flip].flip(-1)
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    images = ((crops.clamp(0, 1) - mean) / std).contiguous()
    return TensorSurrogate(images, f"{n} crops of scikit-learn's sample photos")


@SOURCES.register("noise", aliases=("gaussian",))
def gaussian_noise(spec: SurrogateSpec, info: DatasetInfo) -> Dataset:
    """N(0, 1) images in the model's (normalised) input space, as in the paper's noise ablation."""
    g = torch.Generator().manual_seed(spec.seed)
    images = torch.randn(spec.count, info.in_chans, info.image_size, info.image_size, generator=g)
    return TensorSurrogate(images, f"{spec.count} Gaussian-noise images")


# --- sources on disk ----------------------------------------------------------------------------------


def chunk_dirs(root: Path) -> list[Path]:
    """``class_0, class_1, ...`` in numeric order (the layout ``scar surrogate`` writes)."""
    dirs = [d for d in root.iterdir() if d.is_dir() and d.name.startswith("class_") and d.name[6:].isdigit()]
    return sorted(dirs, key=lambda d: int(d.name[6:]))


def image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


@SOURCES.register("folder", aliases=("imagefolder", "chunks"))
def folder_source(spec: SurrogateSpec, info: DatasetInfo) -> Dataset:
    """An image folder; when it holds chunk folders (``class_<k>``), only the first ``quantity`` are used."""
    if not spec.path:
        raise UnlearnkitError("the folder surrogate needs --surrogate-path DIR")
    root = Path(spec.path)
    if not root.is_dir():
        raise UnlearnkitError(f"surrogate folder {root} does not exist")
    chunks = chunk_dirs(root)
    made = _manifest_chunks(root)
    if made is not None:  # chunks left by an earlier, larger `scar surrogate` run are not part of this set
        chunks = chunks[:made]
    if chunks:
        if spec.quantity > len(chunks):
            raise UnlearnkitError(f"{root} has {len(chunks)} chunks, {spec.quantity} requested")
        files = [f for d in chunks[: spec.quantity] for f in image_files(d)]
    else:
        files = image_files(root)
    if not files:
        raise UnlearnkitError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {root}")
    sur = FileSurrogate.checked(files, surrogate_transform(info), f"images from {root}")
    if not sur.files:
        raise UnlearnkitError(f"none of the {len(files)} image files under {root} can be decoded")
    sur.description = f"{len(sur.files)} {sur.description}"
    return sur


def _manifest_chunks(root: Path) -> int | None:
    """Number of chunks the folder's ``manifest.json`` (written by ``scar surrogate``) declares, if any."""
    try:
        return int(json.loads((root / "manifest.json").read_text())["chunks"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@SOURCES.register("webdataset", aliases=("wds", "shards"))
def webdataset_source(spec: SurrogateSpec, info: DatasetInfo) -> Dataset:
    """Images from webdataset shards, loaded into memory (at most ``quantity`` thousand)."""
    if not spec.path:
        raise UnlearnkitError("the webdataset surrogate needs --surrogate-path 'shards-{000..009}.tar'")
    shards = expand_shards(spec.path)  # one line when the pattern matches nothing
    transform = surrogate_transform(info)
    stats = ShardStats()
    images = []
    for _, img, _ in iter_images(shards, stats):
        images.append(transform(img))
        if len(images) >= spec.count:
            break
    if not images:
        raise UnlearnkitError(f"no readable images in the shards {spec.path}" +
                              (f" ({stats.summary()})" if stats.skipped() else ""))
    skipped = f" ({stats.summary()})" if stats.skipped() else ""
    return TensorSurrogate(torch.stack(images), f"{len(images)} images from {len(shards)} shard(s){skipped}")


class _Reformatted(Dataset):
    """Another data set's images re-expressed in the target format (size, channels, normalisation)."""

    def __init__(self, base: Dataset, src: DatasetInfo, dst: DatasetInfo):
        self.base, self.src, self.dst = base, src, dst
        self._src_mean = torch.tensor(src.mean).view(-1, 1, 1)
        self._src_std = torch.tensor(src.std).view(-1, 1, 1)
        self._dst_mean = torch.tensor(dst.mean).view(-1, 1, 1)
        self._dst_std = torch.tensor(dst.std).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        x, _ = self.base[i]
        x = x * self._src_std + self._src_mean  # back to [0, 1]
        if x.shape[0] != self.dst.in_chans:
            x = x.mean(0, keepdim=True).expand(self.dst.in_chans, -1, -1)
        if x.shape[-1] != self.dst.image_size:
            x = torch.nn.functional.interpolate(
                x[None], size=(self.dst.image_size,) * 2, mode="bilinear", align_corners=False, antialias=True
            )[0]
        return (x - self._dst_mean) / self._dst_std, NO_LABEL


@SOURCES.register("dataset", aliases=("registered",))
def dataset_source(spec: SurrogateSpec, info: DatasetInfo) -> Dataset:
    """Training images of another registered data set (e.g. FashionMNIST or CIFAR when present).

    The data set being unlearned is refused: its other classes are in-distribution, which is exactly the
    retain data SCAR promises not to need.
    """
    if not spec.path:
        raise UnlearnkitError("the dataset surrogate needs --surrogate-path NAME (a registered data set)")
    src_info = dataset_info(spec.path)
    if src_info.name == info.name:
        raise UnlearnkitError(f"{info.name!r} cannot be its own surrogate: its images are in-distribution")
    base = load_dataset(spec.path, "train", root=spec.root)
    n = min(len(base), spec.count)
    order = np.random.default_rng(spec.seed).permutation(len(base))[:n]
    return _Reformatted(base.subset(np.sort(order)), base.info, info)

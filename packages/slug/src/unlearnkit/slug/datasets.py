"""Torch datasets over the data SLUG reads: image-caption pairs (forget / retain shards) and labelled
image folders for zero-shot evaluation (an ImageNet val folder, CelebA identity folders).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info
from unlearnkit.shared.data.images import ImageDecodeError, decode_image

from ._core import UnlearnkitError
from .shards import Sample, ShardStats, iter_shards

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


class PairDataset(Dataset):
    """In-memory image-caption pairs (forget sets are small: a few hundred images)."""

    def __init__(self, samples: Sequence[Sample], preprocess: Callable, tokenize: Callable):
        self.samples = list(samples)
        self.preprocess = preprocess
        self.tokenize = tokenize

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        s = self.samples[i]
        return self.preprocess(s.pil()), self.tokenize([s.caption])[0]

    @property
    def captions(self) -> list[str]:
        return [s.caption for s in self.samples]


class ShardPairs(IterableDataset):
    """Streaming image-caption pairs from shards, split by distributed rank and loader worker.

    Sample ``i`` goes to the (rank, worker) with index ``i mod (world * workers)``: every sample is seen
    exactly once per pass over all ranks, which is what averaged gradients need. Corrupt images and
    truncated shards are skipped and counted in ``stats`` (in the main process; ``num_workers=0``).
    """

    def __init__(self, shards: Sequence[str | Path], preprocess: Callable, tokenize: Callable,
                 limit: int | None = None, rank: int = 0, world: int = 1, stats: ShardStats | None = None):
        self.shards = [Path(s) for s in shards]
        self.preprocess = preprocess
        self.tokenize = tokenize
        self.limit = limit
        self.rank, self.world = rank, world
        self.stats = stats if stats is not None else ShardStats()

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        slot, slots = self.rank * nw + wid, self.world * nw
        for i, s in enumerate(iter_shards(self.shards, self.stats)):
            if self.limit is not None and i >= self.limit:
                break
            if i % slots == slot:
                try:
                    image = s.pil()
                except ImageDecodeError as err:
                    self.stats.note_corrupt(str(err))
                    continue
                yield self.preprocess(image), self.tokenize([s.caption])[0]


def pair_loader(dataset, batch_size: int = 16, num_workers: int = 0) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)


class LabeledImages(Dataset):
    """``(image_tensor, label)`` over image files with class names: the zero-shot evaluation input."""

    def __init__(self, files: Sequence[Path], labels: Sequence[int], class_names: Sequence[str],
                 preprocess: Callable):
        self.files = list(files)
        self.labels = list(labels)
        self.class_names = list(class_names)
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        return self.preprocess(decode_image(self.files[i])), self.labels[i]

    def subset(self, indices: Sequence[int]) -> LabeledImages:
        return LabeledImages([self.files[i] for i in indices], [self.labels[i] for i in indices],
                             self.class_names, self.preprocess)

    @property
    def targets(self) -> torch.Tensor:
        return torch.as_tensor(self.labels, dtype=torch.long)


def image_folder(root: str | Path, preprocess: Callable, class_names: Sequence[str] | None = None) -> LabeledImages:
    """An ImageNet-style ``val/<synset>/*.JPEG`` folder.

    Class names: given explicitly, else open_clip's ImageNet names when there are exactly 1000 synset
    folders (sorted synsets are the standard ImageNet order), else the folder names.
    """
    root = Path(root)
    if not root.is_dir():
        raise UnlearnkitError(f"image folder {root} not found")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    if not classes:
        raise UnlearnkitError(f"{root} has no class sub-folders")
    if class_names is None:
        if len(classes) == 1000 and all(c.startswith("n") for c in classes):
            from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

            class_names = list(IMAGENET_CLASSNAMES)
        else:
            class_names = [c.replace("_", " ") for c in classes]
    if len(class_names) != len(classes):
        raise UnlearnkitError(f"{len(class_names)} class names for {len(classes)} folders in {root}")
    files, labels = [], []
    for label, c in enumerate(classes):
        for f in sorted((root / c).iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES:
                files.append(f)
                labels.append(label)
    return LabeledImages(files, labels, class_names, preprocess)


def read_identity_list(path: str | Path, names: dict[str, str] | None = None) -> dict[str, str]:
    """CelebA ``list_identity_celeba.txt`` -> ``{image file: identity name}``.

    Lines are ``<image> <identity>``; the identity is a numeric CelebA id (mapped through ``names`` when
    given, the id->name list the authors share on request) or already a name (the rest of the line).
    A count line and a header line, as in the official annotation files, are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise UnlearnkitError(f"identity list {path} not found")
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) != 2 or Path(parts[0]).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        image, ident = parts[0], parts[1].strip()
        out[image] = names.get(ident, ident) if names else ident
    if not out:
        raise UnlearnkitError(f"{path} has no '<image> <identity>' lines")
    return out


def celeba_identities(root: str | Path, preprocess: Callable, identities: Sequence[str] | None = None,
                      names_file: str | Path | None = None, max_per_identity: int | None = None) -> LabeledImages:
    """CelebA ``img_align_celeba/`` + ``list_identity_celeba.txt`` as a labelled set over identity names.

    ``identities`` restricts (and orders) the classes, e.g. the forget identity + 100 frequent others.
    """
    root = Path(root)
    names = None
    if names_file is not None:
        names = {}
        for line in Path(names_file).read_text(encoding="utf-8").splitlines():
            parts = line.strip().split(maxsplit=1)
            if len(parts) == 2:
                names[parts[0]] = parts[1]
    mapping = read_identity_list(root / "list_identity_celeba.txt", names)
    classes = list(identities) if identities is not None else sorted(set(mapping.values()))
    index = {c: i for i, c in enumerate(classes)}
    files, labels, counts = [], [], dict.fromkeys(classes, 0)
    img_dir = root / "img_align_celeba"
    for image, ident in sorted(mapping.items()):
        if ident in index and (max_per_identity is None or counts[ident] < max_per_identity):
            files.append(img_dir / image)
            labels.append(index[ident])
            counts[ident] += 1
    missing = [c for c, n in counts.items() if n == 0]
    if missing:
        raise UnlearnkitError(f"no CelebA images for {len(missing)} identities, e.g. {missing[0]!r}")
    return LabeledImages(files, labels, classes, preprocess)

"""The data set registry: every data set unlearnkit knows, by name.

An entry knows its :class:`DatasetInfo` and how to build the base data set for a split. Adding a data set is
one ``@register_dataset`` function; nothing else in the code base lists data set names.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from ..errors import UnlearnkitError
from ..registry import Registry
from .base import DatasetInfo, LabeledDataset, TensorImages
from .digits import DIGITS_INFO, digits_split
from .transforms import TensorTransform, pil_transform

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN, CIFAR100_STD = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)

# build(split, root, download, info, augment) -> (base data set, targets)
Builder = Callable[[str, Path, bool, DatasetInfo, bool], tuple[Dataset, np.ndarray]]


@dataclass(frozen=True)
class DatasetEntry:
    info: DatasetInfo
    build: Builder
    needs_root: bool = True
    description: str = ""


DATASETS: Registry[DatasetEntry] = Registry("data set")
DEFAULT_DATA_ROOT = Path(os.environ.get("UNLEARNKIT_DATA", "data"))


def register_dataset(info: DatasetInfo, *, aliases=(), needs_root: bool = True, description: str = ""):
    def deco(fn: Builder) -> Builder:
        DATASETS.register(info.name, DatasetEntry(info, fn, needs_root, description), aliases=aliases)
        return fn

    return deco


def dataset_info(name: str) -> DatasetInfo:
    return DATASETS.get(name).info


def list_datasets() -> list[str]:
    return DATASETS.names()


def load_dataset(name: str, split: str = "train", *, root: str | os.PathLike | None = None,
                 download: bool = False, augment: bool = False, image_size: int | None = None,
                 in_chans: int | None = None) -> LabeledDataset:
    """Load a registered data set's split as a :class:`LabeledDataset`.

    ``image_size`` / ``in_chans`` adapt the images to a model (e.g. digits at 224 px RGB for a ViT).
    """
    if split not in ("train", "test"):
        raise UnlearnkitError(f"unknown split {split!r}; choose train or test")
    entry = DATASETS.get(name)
    info = entry.info.with_size(image_size, in_chans)
    root_path = Path(root) if root is not None else DEFAULT_DATA_ROOT
    try:
        base, targets = entry.build(split, root_path, download, info, augment)
    except UnlearnkitError:
        raise
    except (RuntimeError, FileNotFoundError) as err:
        if "download" in str(err).lower() or isinstance(err, FileNotFoundError):
            raise UnlearnkitError(
                f"data set {info.name!r} not found under {root_path}; pass --data-root DIR, or --download to fetch it"
            ) from None
        raise
    return LabeledDataset(base, targets, info)


# --- digits (offline) -------------------------------------------------------------------------------


@register_dataset(DIGITS_INFO, needs_root=False, description="scikit-learn's bundled 8x8 digits, served 1x32x32")
def _digits(split, root, download, info, augment):
    images, targets = digits_split(split)
    resize = info.image_size if info.image_size != DIGITS_INFO.image_size else None
    chans = info.in_chans if info.in_chans != DIGITS_INFO.in_chans else None
    transform = TensorTransform(resize, chans, augment) if (resize or chans or augment) else None
    return TensorImages(images, targets, transform), targets


# --- torchvision data sets ----------------------------------------------------------------------------


def _torchvision(cls_name: str, split_kw: Callable[[str], dict], targets_of: Callable[[Dataset], np.ndarray]):
    def build(split, root, download, info, augment):
        import torchvision.datasets as tvd

        cls = getattr(tvd, cls_name)
        if not download and not root.exists():
            raise UnlearnkitError(
                f"data set {info.name!r} not found: {root} does not exist; pass --data-root DIR or --download"
            )
        ds = cls(str(root), download=download, transform=pil_transform(info, augment), **split_kw(split))
        return ds, np.asarray(targets_of(ds), dtype=np.int64)

    return build


def _train_flag(split: str) -> dict:
    return {"train": split == "train"}


def _split_name(split: str) -> dict:
    return {"split": split}


def _attr_targets(ds) -> np.ndarray:
    return np.asarray(ds.targets)


register_dataset(DatasetInfo("mnist", 10, 1, 32, (0.1307,), (0.3081,)))(
    _torchvision("MNIST", _train_flag, _attr_targets))
register_dataset(DatasetInfo("fashionmnist", 10, 1, 32, (0.2860,), (0.3530,)), aliases=("fmnist",))(
    _torchvision("FashionMNIST", _train_flag, _attr_targets))
register_dataset(DatasetInfo("cifar10", 10, 3, 32, CIFAR10_MEAN, CIFAR10_STD, hflip=True))(
    _torchvision("CIFAR10", _train_flag, _attr_targets))
register_dataset(DatasetInfo("cifar100", 100, 3, 32, CIFAR100_MEAN, CIFAR100_STD, hflip=True))(
    _torchvision("CIFAR100", _train_flag, _attr_targets))
register_dataset(DatasetInfo("svhn", 10, 3, 32, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)))(
    _torchvision("SVHN", _split_name, lambda ds: ds.labels))
register_dataset(DatasetInfo("gtsrb", 43, 3, 32, (0.3403, 0.3121, 0.3214), (0.2724, 0.2608, 0.2669)))(
    _torchvision("GTSRB", _split_name, lambda ds: [label for _, label in ds._samples]))


# --- image folders ------------------------------------------------------------------------------------


def image_folder(path: Path, info: DatasetInfo, augment: bool) -> tuple[Dataset, np.ndarray]:
    from torchvision.datasets import ImageFolder

    if not path.is_dir():
        raise UnlearnkitError(f"image folder {path} does not exist")
    try:
        ds = ImageFolder(str(path), transform=pil_transform(info, augment))
    except FileNotFoundError as err:
        raise UnlearnkitError(f"no images under {path}: {err}") from None
    return ds, np.asarray(ds.targets, dtype=np.int64)


def _split_folder(root: Path, split: str) -> Path:
    """``root/train`` and ``root/test`` (or ``val``) when they exist, else the folder itself for both."""
    names = ["train"] if split == "train" else ["test", "val"]
    for name in names:
        if (root / name).is_dir():
            return root / name
    return root


@register_dataset(DatasetInfo("imagefolder", 0, 3, 224, IMAGENET_MEAN, IMAGENET_STD, hflip=True),
                  description="any folder of class sub-folders (root/train, root/test when present)")
def _imagefolder(split, root, download, info, augment):
    path = _split_folder(root, split)
    ds, targets = image_folder(path, info, augment)
    return ds, targets


def load_image_folder(path: str | os.PathLike, *, image_size: int = 224, in_chans: int = 3,
                      augment: bool = False, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> LabeledDataset:
    """Any folder of class sub-folders as a LabeledDataset (its class count read from the folder)."""
    base_info = DatasetInfo("imagefolder", 0, in_chans, image_size, tuple(mean)[:in_chans], tuple(std)[:in_chans])
    ds, targets = image_folder(Path(path), base_info, augment)
    info = DatasetInfo(f"imagefolder:{Path(path).name}", len(ds.classes), in_chans, image_size,
                       base_info.mean, base_info.std, tuple(ds.classes), hflip=True)
    return LabeledDataset(ds, targets, info)


@register_dataset(DatasetInfo("imagenet", 1000, 3, 224, IMAGENET_MEAN, IMAGENET_STD, hflip=True))
def _imagenet(split, root, download, info, augment):
    return image_folder(root / ("train" if split == "train" else "val"), info, augment)


def reorganise_tinyimagenet_val(root: Path) -> Path:
    """TinyImageNet ships val/images + val_annotations.txt; make val_by_class/<wnid>/ once (hard links)."""
    target = root / "val_by_class"
    if target.is_dir():
        return target
    ann = root / "val" / "val_annotations.txt"
    if not ann.is_file():
        raise UnlearnkitError(f"TinyImageNet validation annotations not found: {ann}")
    tmp = Path(tempfile.mkdtemp(prefix=".val_by_class.", suffix=".tmp", dir=root))  # ours alone: safe to remove
    try:
        for line in ann.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            src = root / "val" / "images" / parts[0]
            (tmp / parts[1]).mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, tmp / parts[1] / parts[0])
            except OSError:
                shutil.copy2(src, tmp / parts[1] / parts[0])
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


@register_dataset(DatasetInfo("tinyimagenet", 200, 3, 64, IMAGENET_MEAN, IMAGENET_STD, hflip=True),
                  aliases=("tiny-imagenet", "tiny"))
def _tinyimagenet(split, root, download, info, augment):
    folder = root / "train" if split == "train" else reorganise_tinyimagenet_val(root)
    return image_folder(folder, info, augment)


OFFICE_HOME_DOMAINS = {"art": "Art", "clipart": "Clipart", "product": "Product", "realworld": "Real_World"}


def _office_home(domain_dir: str):
    def build(split, root, download, info, augment):
        # Office-Home has no official split: both splits are the whole domain; k-NN splits 80/20 itself.
        return image_folder(root / domain_dir, info, augment)

    return build


for _key, _dir in OFFICE_HOME_DOMAINS.items():
    register_dataset(DatasetInfo(f"officehome-{_key}", 65, 3, 224, IMAGENET_MEAN, IMAGENET_STD, hflip=True))(
        _office_home(_dir))


class _IdentityImages(Dataset):
    def __init__(self, files: list[Path], targets: np.ndarray, transform):
        self.files, self.targets, self.transform = files, targets, transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        from PIL import Image

        with Image.open(self.files[i]) as img:
            return self.transform(img.convert("RGB")), int(self.targets[i])


@register_dataset(DatasetInfo("celeba-identity", 0, 3, 224, IMAGENET_MEAN, IMAGENET_STD),
                  description="CelebA images labelled by identity (img_align_celeba + identity file)")
def _celeba_identity(split, root, download, info, augment):
    ident = next((root / n for n in ("identity_CelebA.txt", "list_identity_celeba.txt") if (root / n).is_file()), None)
    if ident is None:
        raise UnlearnkitError(f"CelebA identity file not found under {root} (identity_CelebA.txt)")
    rows = [line.split() for line in ident.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if len(r) >= 2 and r[1].lstrip("-").isdigit()]
    ids = sorted({int(r[1]) for r in rows})
    remap = {v: i for i, v in enumerate(ids)}
    files = [root / "img_align_celeba" / r[0] for r in rows]
    targets = np.asarray([remap[int(r[1])] for r in rows], dtype=np.int64)
    return _IdentityImages(files, targets, pil_transform(info, augment)), targets

"""Downstream data sets for the transfer probes, by name.

The paper probes an ImageNet model on Office-Home (four domains), CUB and DomainNet. Each name here
resolves to a labelled data set whose images are adapted (size, channels) to the model being probed, so
the same command works for a 1x32x32 digits LeNet and a 3x224x224 ResNet-50.

Names:
- ``digits-test``: the embedded default, the digits *test* split (360 images, all 10 classes), never seen
  in training. For a digits model it plays Office-Home's role: does the unlearned model's representation
  still separate every digit, the forgotten ones included, as well as the retrained model's does?
- ``fashionmnist``: FashionMNIST's test split, when present under ``--data-root`` (a real domain shift).
- ``officehome-art|clipart|product|realworld``: Office-Home domains (``<root>/Art`` ...).
- ``cub``: CUB-200-2011 (``<root>/images`` or ``<root>/CUB_200_2011/images``).
- ``domainnet-<domain>``: a DomainNet domain folder (``<root>/<domain>``).
- ``folder:<path>``: any folder of class sub-folders.
- any other data set name of the shared registry (its test split).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from unlearnkit.shared.data import load_dataset, load_image_folder
from unlearnkit.shared.data.base import LabeledDataset
from unlearnkit.shared.data.catalog import DATASETS, DEFAULT_DATA_ROOT, OFFICE_HOME_DOMAINS
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.registry import Registry

__all__ = ["DOWNSTREAM", "DEFAULT_DOWNSTREAM", "load_downstream", "downstream_names", "drop_unreadable"]

log = logging.getLogger(__name__)

# loader(root, image_size, in_chans) -> LabeledDataset
Loader = Callable[[Path, int, int], LabeledDataset]
DOWNSTREAM: Registry[Loader] = Registry("downstream data set")
DEFAULT_DOWNSTREAM = ("digits-test",)
DOMAINNET_DOMAINS = ("clipart", "infograph", "painting", "quickdraw", "real", "sketch")


def _registered(name: str, split: str = "test") -> Loader:
    def load(root: Path, image_size: int, in_chans: int) -> LabeledDataset:
        return load_dataset(name, split, root=root, image_size=image_size, in_chans=in_chans)

    return load


def _folder(*candidates: str) -> Loader:
    def load(root: Path, image_size: int, in_chans: int) -> LabeledDataset:
        for c in candidates:
            if (root / c).is_dir():
                return load_image_folder(root / c, image_size=image_size, in_chans=in_chans)
        tried = ", ".join(str(root / c) for c in candidates)
        raise UnlearnkitError(f"downstream images not found (tried {tried}); pass --data-root DIR")

    return load


DOWNSTREAM.register("digits-test", _registered("digits", "test"), aliases=("digits",))
DOWNSTREAM.register("fashionmnist", _registered("fashionmnist", "test"), aliases=("fmnist",))
for _key in OFFICE_HOME_DOMAINS:
    DOWNSTREAM.register(f"officehome-{_key}", _registered(f"officehome-{_key}", "test"))
DOWNSTREAM.register("cub", _folder("images", "CUB_200_2011/images", "CUB_200_2011"))
for _dom in DOMAINNET_DOMAINS:
    DOWNSTREAM.register(f"domainnet-{_dom}", _folder(_dom, f"domainnet/{_dom}"))


def downstream_names() -> list[str]:
    return DOWNSTREAM.names()


def load_downstream(
    name: str, *, root: str | os.PathLike | None = None, image_size: int = 32, in_chans: int = 1
) -> LabeledDataset:
    """Resolve one downstream name (see the module docstring) to a data set shaped for the model."""
    root_path = Path(root) if root is not None else DEFAULT_DATA_ROOT
    if name.startswith("folder:"):
        path = Path(name.split(":", 1)[1]).expanduser()
        return drop_unreadable(load_image_folder(path, image_size=image_size, in_chans=in_chans), name)
    if name in DOWNSTREAM:
        return drop_unreadable(DOWNSTREAM.get(name)(root_path, image_size, in_chans), name)
    if name in DATASETS:
        return drop_unreadable(_registered(name)(root_path, image_size, in_chans), name)
    raise UnlearnkitError(
        f"unknown downstream set {name!r}; choose from {', '.join(downstream_names())}, folder:<path> "
        "or a data set name"
    )


def load_many(names: Sequence[str], **kw) -> dict[str, LabeledDataset]:
    """Several downstream sets keyed by name, failing on the first one that cannot be found."""
    return {n: load_downstream(n, **kw) for n in names}


def drop_unreadable(data: LabeledDataset, name: str = "") -> LabeledDataset:
    """Image-folder data sets: decode every file once, skip the ones that are corrupt, truncated or beyond
    PIL's decompression-bomb limit, and say how many were skipped (one line); refuse a set with none left.

    Downstream folders are gathered from the web (Office-Home, CUB, DomainNet) and a single bad file would
    otherwise stop a long k-NN or CKA run half-way with a decoder traceback. Other data sets pass through.
    """
    samples = getattr(data.base, "samples", None)
    if not samples:
        return data
    from PIL import Image

    good, bad = [], []
    for pos, src in enumerate(data.source_indices):
        path = samples[int(src)][0]
        try:
            with Image.open(path) as im:
                im.load()
            good.append(pos)
        except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
            bad.append(path)
    if not good:
        raise UnlearnkitError(f"downstream set {name or data.info.name}: none of its {len(bad)} images can be read")
    if bad:
        log.warning("downstream set %s: skipped %d unreadable image(s) of %d (e.g. %s)", name or data.info.name,
                    len(bad), len(bad) + len(good), bad[0])
        return data.subset(good)
    return data

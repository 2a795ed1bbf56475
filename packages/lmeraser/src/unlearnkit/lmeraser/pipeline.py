"""From flags to ready-to-train objects: data set, public/private split, frozen backbone.

The public split is a property of the data, not of the run: a fixed seeded subset of the training split
(``public_size`` ids, default ``min(1000, N // 3)``) that is never erasable. It trains the embedded
backbone (when that is the backbone), defines the clustering prototypes and serves as per-cluster
validation data. Everything else is private: the samples LMEraser learns from and can erase.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from unlearnkit.shared.data import LabeledDataset, dataset_info, load_dataset
from unlearnkit.shared.errors import UnlearnkitError

from .backbones import BackboneRequest, BackboneSpec, load_backbone
from .frozen import FrozenBackbone
from .seeding import derive_seed
from .store import SampleStore

__all__ = ["Prepared", "prepare", "prepare_from_checkpoint", "public_private_split", "default_public_size",
           "EMBEDDED_PRETRAIN"]

#: How the embedded backbone is pre-trained on the public split (once; cached afterwards).
EMBEDDED_PRETRAIN = {"epochs": 30, "batch_size": 32, "lr": 2e-3, "optimizer": "adamw", "weight_decay": 0.05,
                     "warmup_epochs": 2, "seed": 0}


def default_public_size(n: int) -> int:
    return min(1000, n // 3)


def public_private_split(n: int, public_size: int | None = None, split_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (public ids, private ids) of a training split of ``n`` samples."""
    size = default_public_size(n) if public_size is None else int(public_size)
    if not 1 <= size < n:
        raise UnlearnkitError(f"--public-size must be between 1 and {n - 1}")
    g = torch.Generator().manual_seed(derive_seed(split_seed, "public-split"))
    perm = torch.randperm(n, generator=g).numpy()
    return np.sort(perm[:size]), np.sort(perm[size:])


@dataclass
class Prepared:
    backbone: FrozenBackbone
    spec: BackboneSpec
    backbone_info: dict[str, Any]
    train_set: LabeledDataset
    test_set: LabeledDataset
    store: SampleStore
    public_ids: np.ndarray
    private_ids: np.ndarray
    num_classes: int
    pipeline: dict[str, Any]


def _pretrainer(train_native: LabeledDataset, public_ids: np.ndarray, device):
    def pretrain(model):
        from unlearnkit.shared.train import TrainConfig, fit

        fit(model, train_native.subset(public_ids), TrainConfig(**EMBEDDED_PRETRAIN), device=device,
            description="pre-training the embedded backbone on public data")

    return pretrain


def prepare(*, dataset: str = "digits", base_dir: str | Path | None = None, backbone: str = "embedded",
            checkpoint: str | None = None, md5: str | None = None, public_size: int | None = None,
            split_seed: int = 0, device: str | torch.device = "cpu", download: bool = False) -> Prepared:
    from unlearnkit.shared.data.catalog import DEFAULT_DATA_ROOT

    root = Path(base_dir) if base_dir is not None else DEFAULT_DATA_ROOT
    info = dataset_info(dataset)
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise UnlearnkitError(f"backbone checkpoint not found: {checkpoint}")
    native = load_dataset(dataset, "train", root=root, download=download)
    public_ids, private_ids = public_private_split(len(native), public_size, split_seed)
    augmented = load_dataset(dataset, "train", root=root, download=download, augment=True)
    req = BackboneRequest(
        name=backbone, in_chans=info.in_chans, image_size=info.image_size, data_mean=info.mean, data_std=info.std,
        checkpoint=checkpoint, md5=md5, cache_dir=root / "lmeraser-backbones",
        pretrain=_pretrainer(augmented, public_ids, device),
        extra={"num_classes": info.num_classes, "cache_key": f"{dataset}-p{len(public_ids)}-s{split_seed}"},
    )
    frozen, spec, binfo = load_backbone(req)
    if (spec.image_size, spec.in_chans) != (info.image_size, info.in_chans):
        train_set = load_dataset(dataset, "train", root=root, download=download, image_size=spec.image_size,
                                 in_chans=spec.in_chans)
    else:
        train_set = native
    test_set = load_dataset(dataset, "test", root=root, download=download, image_size=spec.image_size,
                            in_chans=spec.in_chans)
    pipeline = {"dataset": dataset, "base_dir": str(root), "backbone": backbone, "checkpoint": checkpoint,
                "md5": md5, "public_size": len(public_ids), "split_seed": split_seed, "num_train": len(native)}
    return Prepared(frozen, spec, binfo, train_set, test_set, SampleStore(train_set), public_ids, private_ids,
                    info.num_classes, pipeline)


def prepare_from_checkpoint(pipeline: dict[str, Any], backbone_info: dict[str, Any], device="cpu") -> Prepared:
    """Rebuild data and backbone exactly as training had them, and refuse a backbone that changed."""
    prep = prepare(dataset=pipeline["dataset"], base_dir=pipeline["base_dir"], backbone=pipeline["backbone"],
                   checkpoint=pipeline.get("checkpoint"), md5=pipeline.get("md5"),
                   public_size=pipeline["public_size"], split_seed=pipeline["split_seed"], device=device)
    if len(prep.train_set) != pipeline.get("num_train", len(prep.train_set)):
        raise UnlearnkitError("the training data set changed size since training; cannot erase exactly")
    want = backbone_info.get("fingerprint")
    if want and prep.backbone_info["fingerprint"] != want:
        raise UnlearnkitError("the backbone's weights differ from the ones used in training (fingerprint mismatch)")
    return prep

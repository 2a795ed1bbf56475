"""Everything a trained LMEraser holds, and its checkpoint form.

The checkpoint stores the trainable parts (one prompt + head per cluster), the partition (prototypes,
members, validation members), the ids already erased and how the backbone and data were obtained — but not
the backbone's weights: the backbone is frozen and public, so it is referenced by name / file / md5 and a
fingerprint of its weights that ``erase`` and ``evaluate`` check before using it. Only tensors and plain
values are stored, so ``torch.load(weights_only=True)`` reads it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import check_writable, load_torch, save_torch

from .config import LMEraserConfig
from .partition import Partition
from .trainer import ClusterResult, ClusterTrainConfig

__all__ = ["LMEraserState", "FORMAT"]

FORMAT = "unlearnkit.lmeraser/1"


def _ids(t) -> np.ndarray:
    return np.asarray(torch.as_tensor(t).cpu().numpy(), dtype=np.int64)


@dataclass
class LMEraserState:
    config: LMEraserConfig
    train_cfg: ClusterTrainConfig
    partition: Partition
    clusters: dict[int, ClusterResult]
    public_ids: np.ndarray
    erased_ids: np.ndarray
    full_train_seconds: float
    backbone: dict[str, Any] = field(default_factory=dict)  # name, checkpoint, md5, fingerprint, feature_dim
    pipeline: dict[str, Any] = field(default_factory=dict)  # data set, public split: how to rebuild the data
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per erase

    @property
    def private_ids(self) -> np.ndarray:
        return np.sort(np.concatenate([np.zeros(0, np.int64), *self.partition.members]))

    def copy(self) -> LMEraserState:
        return copy.deepcopy(self)

    def to_checkpoint(self) -> dict[str, Any]:
        p = self.partition
        return {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "train_cfg": self.train_cfg.to_dict(),
            "partition": {
                "num_clusters": p.num_clusters, "routing": p.routing, "prototypes": p.prototypes,
                "members": [torch.as_tensor(m) for m in p.members],
                "val_members": [torch.as_tensor(m) for m in p.val_members],
            },
            "clusters": [self.clusters[c].to_record() for c in range(p.num_clusters)],
            "public_ids": torch.as_tensor(self.public_ids),
            "erased_ids": torch.as_tensor(self.erased_ids),
            "full_train_seconds": float(self.full_train_seconds),
            "backbone": dict(self.backbone),
            "pipeline": dict(self.pipeline),
            "history": list(self.history),
        }

    @classmethod
    def from_checkpoint(cls, ck: dict[str, Any]) -> LMEraserState:
        if not isinstance(ck, dict) or ck.get("format") != FORMAT:
            raise UnlearnkitError("not an LMEraser checkpoint (written by `lmeraser train` / `lmeraser erase`)")
        pp = ck["partition"]
        partition = Partition(int(pp["num_clusters"]), pp["routing"], pp["prototypes"],
                              [_ids(m) for m in pp["members"]], [_ids(m) for m in pp["val_members"]])
        clusters = {int(r["cluster"]): ClusterResult.from_record(r) for r in ck["clusters"]}
        return cls(LMEraserConfig.from_dict(ck["config"]), ClusterTrainConfig(**ck["train_cfg"]), partition,
                   clusters, _ids(ck["public_ids"]), _ids(ck["erased_ids"]), float(ck["full_train_seconds"]),
                   dict(ck["backbone"]), dict(ck["pipeline"]), list(ck["history"]))

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        check_writable(path, overwrite)
        return save_torch(path, self.to_checkpoint())

    @classmethod
    def load(cls, path: str | Path) -> LMEraserState:
        """Read a checkpoint as data (``weights_only``); a foreign, truncated or edited file is one error line."""
        ck = load_torch(path)
        try:
            return cls.from_checkpoint(ck)
        except UnlearnkitError as err:
            raise UnlearnkitError(f"{path}: {err}") from None
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, RuntimeError) as err:
            raise UnlearnkitError(f"{path} is a damaged LMEraser checkpoint ({type(err).__name__}: {err})") from None

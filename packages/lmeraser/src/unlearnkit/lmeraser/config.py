"""LMEraser's training configuration (data set and backbone choices live in :mod:`.pipeline`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from unlearnkit.shared.errors import UnlearnkitError

__all__ = ["LMEraserConfig"]


@dataclass(frozen=True)
class LMEraserConfig:
    """Defaults are the ones that work on the embedded digits set (the paper's: 50 epochs, batch 128,
    border 30 at 224, distance threshold tuned per backbone)."""

    method: str = "lmeraser"  # or random_part_tuning
    one_prompt: bool = False
    distance_threshold: float | None = None
    num_clusters: int | None = 256
    prompter: str = "pad"  # pad | fixed_patch | random_patch
    prompt_size: int = 30  # border / patch width at 224 x 224; scaled to the backbone input
    epochs: int = 8
    batch_size: int = 32
    lr: float = 0.5
    momentum: float = 0.9
    weight_decay: float = 0.0
    warmup_epochs: int = 1
    init_std: float = 0.01
    keep_best: bool = True
    seed: int = 0
    feature_batch_size: int = 64

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise UnlearnkitError("--epochs and --batch-size must be >= 1")
        if self.lr <= 0:
            raise UnlearnkitError("--lr must be > 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LMEraserConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

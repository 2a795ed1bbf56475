"""Training hyper-parameters as data (stored in every checkpoint)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from ..errors import UnlearnkitError

SCHEDULE_NAMES = ("cosine", "multistep", "constant")


def _number(value, name: str, *, integer: bool = False) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if not ok or isinstance(value, bool) or (not integer and not math.isfinite(value)):
        raise UnlearnkitError(f"{name} must be {'an integer' if integer else 'a finite number'}, got {value!r}")
    return value


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 0.05
    optimizer: str = "sgd"  # sgd | adam | adamw
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # cosine | multistep | constant
    warmup_epochs: int = 0
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    label_smoothing: float = 0.0
    seed: int = 0
    amp: bool = True  # bf16 autocast, CUDA only
    deterministic: bool = False
    num_workers: int = 0

    def __post_init__(self):
        """Every number is checked here, so a recipe from a flag, a --param or a checkpoint cannot train to NaN
        (lr nan/inf) or save an untrained model (epochs <= 0); each problem is one line."""
        rules = [("epochs", True, lambda v: v >= 1, ">= 1"), ("batch_size", True, lambda v: v >= 1, ">= 1"),
                 ("lr", False, lambda v: v > 0, "> 0"), ("momentum", False, lambda v: v >= 0, ">= 0"),
                 ("weight_decay", False, lambda v: v >= 0, ">= 0"), ("warmup_epochs", True, lambda v: v >= 0, ">= 0"),
                 ("gamma", False, lambda v: v > 0, "> 0"), ("seed", True, lambda v: v >= 0, ">= 0"),
                 ("label_smoothing", False, lambda v: 0 <= v < 1, "in [0, 1)"),
                 ("num_workers", True, lambda v: v >= 0, ">= 0")]
        for name, integer, ok, rule in rules:
            value = _number(getattr(self, name), name, integer=integer)
            if not ok(value):
                raise UnlearnkitError(f"{name} must be {rule}, got {value!r}")
        from .optim import OPTIMIZERS

        OPTIMIZERS.resolve(self.optimizer)  # one line naming the known optimizers
        if self.schedule not in SCHEDULE_NAMES:
            raise UnlearnkitError(f"unknown schedule {self.schedule!r}; choose {', '.join(SCHEDULE_NAMES)}")
        self.milestones = tuple(self.milestones)
        for m in self.milestones:
            _number(m, "milestones", integer=True)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["milestones"] = list(self.milestones)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "milestones" in kw:
            kw["milestones"] = tuple(kw["milestones"])
        return cls(**kw)

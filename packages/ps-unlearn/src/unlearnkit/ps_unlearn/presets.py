"""``--data`` (the published ``--model_type``): which data set, model and hyper-parameters an experiment uses.

PS fine-tuning epochs / lr are the published ones. The paper publishes no recipe for training the original
models, so those are ours (standard ones for each architecture) and recorded in every checkpoint's meta.
``DIGITS`` is this project's offline setting: LeNet-5 on scikit-learn's 8x8 digits served at 32x32.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from unlearnkit.shared.registry import Registry

__all__ = ["Preset", "PRESETS", "get_preset", "resolve_model_name"]


@dataclass(frozen=True)
class Preset:
    name: str
    dataset: str
    model: str
    model_kwargs: dict = field(default_factory=dict)
    image_size: int | None = None
    # original-model training (ours; not published)
    train_epochs: int = 30
    train_lr: float = 0.05
    train_batch_size: int = 128
    train_optimizer: str = "sgd"
    train_weight_decay: float = 5e-4
    train_schedule: str = "cosine"
    train_milestones: tuple[int, ...] = ()
    train_augment: bool = False
    # PS fine-tuning (the published EPOCH / LR)
    ps_epochs: int = 50
    ps_lr: float = 0.01
    samples_per_class: str = ""


PRESETS: Registry[Preset] = Registry("PS data set (--data)")

for _p in (
    Preset(
        "DIGITS",
        "digits",
        "lenet5",
        train_epochs=40,
        train_lr=0.05,
        train_batch_size=64,
        ps_epochs=50,
        ps_lr=0.01,
        samples_per_class="~144",
    ),
    Preset(
        "MNIST",
        "mnist",
        "lenet5",
        image_size=32,
        train_epochs=20,
        train_lr=0.05,
        ps_epochs=50,
        ps_lr=0.01,
        samples_per_class="6000",
    ),
    Preset(
        "CIFAR10",
        "cifar10",
        "resnet20",
        train_epochs=200,
        train_lr=0.1,
        train_weight_decay=1e-4,
        train_schedule="multistep",
        train_milestones=(100, 150),
        train_augment=True,
        ps_epochs=150,
        ps_lr=0.05,
        samples_per_class="5000",
    ),
    Preset(
        "CIFAR100",
        "cifar100",
        "resnet56",
        train_epochs=200,
        train_lr=0.1,
        train_weight_decay=1e-4,
        train_schedule="multistep",
        train_milestones=(100, 150),
        train_augment=True,
        ps_epochs=150,
        ps_lr=0.15,
        samples_per_class="500",
    ),
    Preset(
        "TINYIMAGENET",
        "tinyimagenet",
        "vgg16_bn",
        model_kwargs={"image_size": 64},
        image_size=64,
        train_epochs=100,
        train_lr=0.05,
        train_augment=True,
        ps_epochs=150,
        ps_lr=0.3,
        samples_per_class="500",
    ),
):
    PRESETS.register(_p.name, _p)


def get_preset(name: str) -> Preset:
    return PRESETS.get(name)


# The paper's "ResNet50" for CIFAR-100 is the CIFAR ResNet with 9 blocks per stage: a ResNet-56.
_PAPER_ALIASES = {"resnet50": "resnet56"}


def resolve_model_name(name: str) -> str:
    """Map the paper's model names onto the honest ones, warning when a name is rewritten."""
    key = name.strip().lower()
    if key in _PAPER_ALIASES:
        new = _PAPER_ALIASES[key]
        warnings.warn(
            f"the paper's {name!r} is a CIFAR ResNet with 9 blocks per stage, i.e. a ResNet-56: using {new!r}",
            UserWarning,
            stacklevel=2,
        )
        return new
    return key

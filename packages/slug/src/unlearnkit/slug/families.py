"""Model families SLUG can edit, by name: the CLI's ``--family`` looks them up here.

``clip`` is the open_clip path (``unlearnkit.slug.workflow``); the others are adapters over a shared
identity-probe workflow (``unlearnkit.slug.family_workflow``): ``sd`` edits one tensor of Stable
Diffusion's CLIP text encoder, ``llava`` one attention projection of LLaVA's vision tower. Their heavy
dependencies live in pip extras and are only imported once a family is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ._core import UnlearnkitError


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    requires: tuple[str, ...] = ()  # modules that must import (provided by ``extra``)
    extra: str | None = None  # pip extra of unlearnkit-slug that installs them
    adapter: str | None = None  # "module:callable(checkpoint, device) -> adapter"; None: the open_clip path
    default_checkpoint: str | None = None  # the published checkpoint the README's commands use

    def load_adapter(self, checkpoint, device: str = "cpu"):
        """Check the extra, then build the family's adapter over ``checkpoint`` (a folder or a hub id)."""
        require(self)
        if self.adapter is None:
            raise UnlearnkitError(f"--family {self.name} has no adapter (use its own commands)")
        module, attr = self.adapter.split(":")
        loader: Callable = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
        return loader(checkpoint, device)


FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise UnlearnkitError(f"unknown --family {name!r}; choose from {', '.join(FAMILIES)}")
    return FAMILIES[name]


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require(family: Family) -> None:
    """One actionable line when an extra is missing (the CLI prints it as ``Error: ...``, exit code 2)."""
    for module in family.requires:
        if not _importable(module):
            hint = f": pip install 'unlearnkit-slug[{family.extra}]'" if family.extra else ""
            raise UnlearnkitError(f"--family {family.name} needs {module}{hint}")


register_family(Family("clip", "open_clip CLIP: image and text towers (the paper's main setting)",
                       requires=("open_clip",)))
register_family(Family("sd", "Stable Diffusion: one tensor of the pipeline's CLIP text encoder",
                       requires=("diffusers", "transformers"), extra="sd", adapter="sd:load_sd",
                       default_checkpoint="runwayml/stable-diffusion-v1-5"))
register_family(Family("llava", "LLaVA: one q/k/v projection of the vision tower's attention",
                       requires=("transformers",), extra="llava", adapter="llava:load_llava",
                       default_checkpoint="llava-hf/llava-1.5-7b-hf"))

"""Visual prompts: learnable pixels added to the (normalised) image before the frozen backbone.

All prompters are additive: ``x + prompt``, where the prompt is zero outside its support. Randomness
(the random patch location) comes from an explicit generator so that training stays a pure function of
the cluster seed, and inference is deterministic (the random patch sits at the centre in eval mode).
"""

from __future__ import annotations

import torch
from torch import nn
from unlearnkit.shared.registry import Registry

__all__ = [
    "PROMPTERS",
    "PadPrompter",
    "FixedPatchPrompter",
    "RandomPatchPrompter",
    "build_prompter",
    "scaled_prompt_size",
    "REFERENCE_SIZE",
]

#: The resolution at which ``--prompt-size`` is expressed (the paper: border 30 on 224 x 224).
REFERENCE_SIZE = 224

PROMPTERS = Registry("prompter")


def scaled_prompt_size(prompt_size: int, image_size: int) -> int:
    """Convert a width given at 224 x 224 to the backbone's input size (30 at 224 -> 4 at 32), so the
    same flag value covers the same fraction of the image whatever the resolution."""
    if prompt_size < 1:
        raise ValueError("prompt size must be >= 1")
    return max(1, round(prompt_size * image_size / REFERENCE_SIZE))


def _init(shape: tuple[int, ...], generator: torch.Generator | None, std: float) -> nn.Parameter:
    return nn.Parameter(torch.randn(shape, generator=generator) * std)


@PROMPTERS.register("pad")
class PadPrompter(nn.Module):
    """A learnable frame of width ``size`` around the image (VP / DAM-VP / LMEraser's default)."""

    def __init__(self, image_size: int, size: int, in_chans: int = 3, *, generator=None, init_std: float = 0.01):
        super().__init__()
        if 2 * size >= image_size:
            raise ValueError(f"pad width {size} leaves no image inside {image_size} x {image_size}")
        inner = image_size - 2 * size
        self.image_size, self.size = image_size, size
        self.pad_up = _init((1, in_chans, size, image_size), generator, init_std)
        self.pad_down = _init((1, in_chans, size, image_size), generator, init_std)
        self.pad_left = _init((1, in_chans, inner, size), generator, init_std)
        self.pad_right = _init((1, in_chans, inner, size), generator, init_std)

    def prompt(self) -> torch.Tensor:
        c = self.pad_up.shape[1]
        inner = self.image_size - 2 * self.size
        base = torch.zeros(1, c, inner, inner, dtype=self.pad_up.dtype, device=self.pad_up.device)
        middle = torch.cat([self.pad_left, base, self.pad_right], dim=3)
        return torch.cat([self.pad_up, middle, self.pad_down], dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.prompt()


@PROMPTERS.register("fixed_patch")
class FixedPatchPrompter(nn.Module):
    """A learnable ``size`` x ``size`` square in the top-left corner."""

    def __init__(self, image_size: int, size: int, in_chans: int = 3, *, generator=None, init_std: float = 0.01):
        super().__init__()
        if size > image_size:
            raise ValueError(f"patch {size} larger than the image {image_size}")
        self.image_size, self.size = image_size, size
        self.patch = _init((1, in_chans, size, size), generator, init_std)

    def place(self, x: torch.Tensor, top: int, left: int) -> torch.Tensor:
        s = self.size
        pad = (left, self.image_size - left - s, top, self.image_size - top - s)
        return x + nn.functional.pad(self.patch, pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.place(x, 0, 0)


@PROMPTERS.register("random_patch")
class RandomPatchPrompter(FixedPatchPrompter):
    """The patch moves to a random position at every training step (one position per batch, drawn from
    the prompter's own generator; the published code used the global RNG); at evaluation it sits at
    the centre so that predictions are deterministic."""

    def __init__(self, image_size: int, size: int, in_chans: int = 3, *, generator=None, init_std: float = 0.01):
        super().__init__(image_size, size, in_chans, generator=generator, init_std=init_std)
        self.location_generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        span = self.image_size - self.size + 1
        if self.training:
            top, left = (int(v) for v in torch.randint(span, (2,), generator=self.location_generator))
        else:
            top = left = (self.image_size - self.size) // 2
        return self.place(x, top, left)


def build_prompter(
    name: str, image_size: int, prompt_size: int, in_chans: int, *, generator=None, init_std: float = 0.01
) -> nn.Module:
    """A prompter by registry name; ``prompt_size`` is already in pixels of the backbone input."""
    cls = PROMPTERS.get(name)
    return cls(image_size, prompt_size, in_chans, generator=generator, init_std=init_std)

"""An identity probe in a model's own feature space: the loss SLUG differentiates and the offline evaluator
for families without CLIP's image-caption pairs (Stable Diffusion's text encoder, LLaVA's vision tower).

Every sample (a prompt naming someone, or an image of someone) carries an identity label and a group. The
references are the ORIGINAL model's features, averaged per (group, identity) and frozen: for prompts the
group is the caption template, so "a photo of A" is compared with "a photo of B", "a photo of C" ...; for
images there is one group and a reference is an identity's mean feature. Identification = the nearest
reference; the loss is its cross-entropy. SLUG steps UP the forget samples' loss (as the CLIP path steps
up 1 - cos), so the forget identity's features leave their own references for other identities'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

# Logit scale of the identification cross-entropy: CLIP's 100 saturates the softmax of near-identical
# prompts (a 0.05 cosine gap is already e^-5), 20 keeps a usable gradient from every competitor.
LOGIT_SCALE = 20.0


@dataclass
class Probe:
    """Model inputs (already tensors: token ids or pixel values), identity labels and reference groups."""

    inputs: torch.Tensor
    labels: torch.Tensor  # [N] identity index into ``names``
    groups: torch.Tensor  # [N] reference group (template index for prompts, 0 for images)
    names: list[str]
    forget_label: int
    meta: dict = field(default_factory=dict)

    @property
    def forget_index(self) -> torch.Tensor:
        return (self.labels == self.forget_label).nonzero().flatten()

    @property
    def retain_index(self) -> torch.Tensor:
        return (self.labels != self.forget_label).nonzero().flatten()


Embed = Callable[[torch.Tensor], torch.Tensor]  # inputs [B, ...] -> features [B, d]


def embed_all(embed: Embed, inputs: torch.Tensor, batch_size: int = 32, device="cpu") -> torch.Tensor:
    """L2-normalised features of ``inputs``, batched, without gradients, on the CPU."""
    out = []
    with torch.no_grad():
        for i in range(0, len(inputs), batch_size):
            out.append(F.normalize(embed(inputs[i:i + batch_size].to(device)).float(), dim=-1).cpu())
    return torch.cat(out) if out else torch.zeros(0, 1)


def references(feats: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor, n_classes: int) -> torch.Tensor:
    """[G, K, d] normalised mean feature per (group, identity); zeros where a group lacks an identity."""
    n_groups = int(groups.max().item()) + 1
    refs = torch.zeros(n_groups, n_classes, feats.shape[1])
    refs.index_put_((groups, labels), feats, accumulate=True)
    return F.normalize(refs, dim=-1)


def identification_logits(feats: torch.Tensor, groups: torch.Tensor, refs: torch.Tensor) -> torch.Tensor:
    """[B, K] cosine of each (normalised) feature with its group's references."""
    return torch.einsum("bd,bkd->bk", feats, refs[groups])


def identification_loss(feats: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor,
                        refs: torch.Tensor, scale: float = LOGIT_SCALE) -> torch.Tensor:
    """Cross-entropy of naming the right identity from the frozen references (features normalised here)."""
    logits = scale * identification_logits(F.normalize(feats, dim=-1), groups, refs.to(feats.device, feats.dtype))
    return F.cross_entropy(logits, labels)


def topk_hits(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """Percent of rows whose label is among the ``k`` largest logits (0 for no rows)."""
    if len(labels) == 0:
        return 0.0
    k = min(k, logits.shape[1])
    return 100.0 * (logits.topk(k, dim=1).indices == labels[:, None]).any(1).float().mean().item()


class ProbeEvaluator:
    """The step search's evaluator (``evaluator(edited, utility=...) -> metrics``) on a probe.

    forget_top1/top5: how often the forget identity's samples are still identified as it; utility_top1/5:
    the same for every other identity's samples; forget/retain_drift: mean 1 - cos(feature now, original
    feature); margin = forget_drift - retain_drift (how much further the forget side moved).
    """

    def __init__(self, embed: Embed, probe: Probe, *, batch_size: int = 32, device="cpu"):
        self.embed, self.probe, self.batch_size, self.device = embed, probe, batch_size, device
        self.original = embed_all(embed, probe.inputs, batch_size, device)
        self.refs = references(self.original, probe.labels, probe.groups, len(probe.names))

    def _side(self, index: torch.Tensor) -> tuple[dict[str, float], float]:
        p = self.probe
        feats = embed_all(self.embed, p.inputs[index], self.batch_size, self.device)
        logits = identification_logits(feats, p.groups[index], self.refs)
        labels = p.labels[index]
        drift = (1.0 - (feats * self.original[index]).sum(-1)).mean().item() if len(index) else 0.0
        return {"top1": topk_hits(logits, labels, 1), "top5": topk_hits(logits, labels, 5)}, drift

    def __call__(self, edited: str | None = None, utility: bool = True) -> dict[str, float]:
        acc, fdrift = self._side(self.probe.forget_index)
        out = {"forget_top1": acc["top1"], "forget_top5": acc["top5"], "forget_drift": fdrift}
        if utility:
            racc, rdrift = self._side(self.probe.retain_index)
            out.update(utility_top1=racc["top1"], utility_top5=racc["top5"], retain_drift=rdrift,
                       margin=fdrift - rdrift)
        return out


def probe_loss(embed: Embed, probe: Probe, refs: torch.Tensor) -> Callable:
    """A loss in ``grads.compute_gradient``'s form, over batches of (inputs, sample indices)."""

    def loss(model, inputs: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        index = index.cpu()
        return identification_loss(embed(inputs), probe.labels[index].to(inputs.device),
                                   probe.groups[index].to(inputs.device), refs)

    return loss


def probe_batches(probe: Probe, index: torch.Tensor, batch_size: int):
    """(inputs, indices) batches over the samples in ``index``, in order (the passes are deterministic)."""
    for i in range(0, len(index), batch_size):
        idx = index[i:i + batch_size]
        yield probe.inputs[idx], idx

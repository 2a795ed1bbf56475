"""SCAR's two loss terms: pull forget embeddings to another class, distil the original on surrogate images.

Divergences live in a registry so ``--divergence`` picks one by name: ``kl`` is what the published code
runs, ``js`` what the paper writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from unlearnkit.shared.registry import Registry

__all__ = [
    "DIVERGENCES",
    "kl_divergence",
    "js_divergence",
    "forget_loss",
    "hr_class_weights",
    "drop_forgotten_teacher",
]

Divergence = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
DIVERGENCES: Registry[Divergence] = Registry("divergence")


@DIVERGENCES.register("kl")
def kl_divergence(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``KL(softmax(teacher / T) || softmax(student))``, batch mean. As in the published code the
    temperature softens the teacher only: the student is pulled towards a smoother target."""
    log_p_teacher = F.log_softmax(teacher_logits / temperature, dim=1)
    log_p_student = F.log_softmax(student_logits, dim=1)
    return F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)


@DIVERGENCES.register("js")
def js_divergence(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Jensen-Shannon divergence between the softened teacher and the student (bounded by log 2)."""
    log_p = F.log_softmax(teacher_logits / temperature, dim=1)
    log_q = F.log_softmax(student_logits, dim=1)
    log_m = torch.logsumexp(torch.stack([log_p, log_q]), dim=0) - torch.log(torch.tensor(2.0, device=log_p.device))
    kl_pm = F.kl_div(log_m, log_p, reduction="batchmean", log_target=True)
    kl_qm = F.kl_div(log_m, log_q, reduction="batchmean", log_target=True)
    return 0.5 * (kl_pm + kl_qm)


def forget_loss(target_dists: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean (optionally weighted) squared Mahalanobis distance of forget samples to their target class."""
    if weights is not None:
        target_dists = target_dists * weights.to(target_dists)
    return target_dists.mean()


def hr_class_weights(per_class_acc: torch.Tensor, threshold: float) -> torch.Tensor:
    """HR: weight each class's forget term by its current forget accuracy, 0 below ``threshold``.

    Classes the model already gets wrong often enough stop being pushed, so random forgetting lowers
    forget accuracy to test level instead of to zero.
    """
    w = per_class_acc.detach().clone().float()
    w[w < threshold] = 0.0
    return w


def drop_forgotten_teacher(
    teacher_logits: torch.Tensor, forget_classes: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """CR distillation targets: ``(keep_mask, teacher_logits[keep])`` with the forgotten classes' logits
    set to the batch minimum.

    Images the original assigns to a forgotten class would teach the student that class again, so they are
    left out; on the rest the forgotten logit is flattened so distillation never rewards it.
    """
    classes = torch.as_tensor(list(forget_classes), dtype=torch.long, device=teacher_logits.device)
    pred = teacher_logits.argmax(1)
    keep = ~torch.isin(pred, classes)
    kept = teacher_logits[keep].clone()
    if len(kept):
        kept[:, classes] = kept.min()
    return keep, kept

"""PS's soft labels: hand the forget class's logit mass to the two classes the sample most resembles.

A forget sample should end up looking like a sample the model never saw: it would then be classified as one
of the classes it is most similar to, not spread uniformly (which an attacker can spot). So the logit of its
own class ``c`` is moved onto the two largest other logits ``a, b`` in proportion ``softmax([z_a, z_b])``,
and class ``c`` gets probability exactly zero.

This is the paper's (and the spec's) soft label. The published ``relabel_set`` produces other labels: it
reads ``delta_y = new_logits[:, 1]`` as a numpy *view* and then overwrites that column with -9999, so the
two most similar classes receive ``-9999 * share`` instead of ``z_c * share`` and end up with almost no
probability; the mass goes to the remaining, least similar classes (tests/test_ps_soft_labels.py shows it
on a hand-made case). Published PS numbers were produced with those labels, not with these.

Other differences, on purpose: ``c`` is excluded from the top-2 search with ``-inf`` (the published code
wrote 0, which picks ``c`` back whenever the other logits are negative), its probability is an exact zero
instead of ``exp(-9999)``, and any class (and any number of classes) works.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from unlearnkit.shared.errors import UnlearnkitError

__all__ = ["soft_labels", "soft_cross_entropy"]


def soft_labels(logits: torch.Tensor, forget_class: torch.Tensor | int) -> torch.Tensor:
    """Soft targets (N x C, rows sum to 1, column ``c`` zero) from the original model's logits.

    ``forget_class`` is one class for all rows or one per row (the samples' true labels).
    With only two classes there is a single other class and it takes all the mass.
    """
    if logits.ndim != 2:
        raise UnlearnkitError(f"logits must be N x C, got shape {tuple(logits.shape)}")
    n, num_classes = logits.shape
    if num_classes < 2:
        raise UnlearnkitError("soft labels need at least two classes")
    z = logits.detach().double()
    cls = torch.as_tensor(forget_class, dtype=torch.long, device=z.device).expand(n).reshape(n, 1)
    if n and (cls.min() < 0 or cls.max() >= num_classes):
        raise UnlearnkitError(f"forget class out of range [0, {num_classes})")

    delta = z.gather(1, cls)  # N x 1: the mass to hand over
    others = z.scatter(1, cls, float("-inf"))
    k = min(2, num_classes - 1)
    top_vals, top_idx = others.topk(k, dim=1)
    share = torch.softmax(top_vals, dim=1) * delta
    new = z.scatter_add(1, top_idx, share).scatter(1, cls, float("-inf"))
    return torch.softmax(new, dim=1).to(logits.dtype if logits.is_floating_point() else torch.float32)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of raw logits against probability targets: one log-softmax, applied once.

    (The published code passed softmax outputs into ``CrossEntropyLoss``, which applies log-softmax again;
    that squashes the gradients and cannot reach the soft target.)
    """
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()

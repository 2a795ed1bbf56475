"""Zero-shot classification for forget accuracy and utility, with caching that respects the edit.

An edit to a text-tower tensor leaves image embeddings unchanged and vice versa; the evaluator caches
the untouched side, so each search trial only recomputes the tower that changed. (Same numbers as
rebuilding everything after every change, several times cheaper.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

DEFAULT_TEMPLATES = ("{}.",)


@torch.no_grad()
def text_classifier(model: nn.Module, tokenize: Callable, class_names: Sequence[str],
                    templates: Sequence[str] = DEFAULT_TEMPLATES, device="cpu") -> torch.Tensor:
    """[C, d] class weights (the core's open_clip recipe: normalised mean of normalised prompt embeddings)."""
    from unlearnkit.shared.metrics.clip import zero_shot_classifier

    return zero_shot_classifier(model, tokenize, list(class_names), list(templates), device=device).float().t()


@torch.no_grad()
def image_features(model: nn.Module, data: Dataset | DataLoader, device="cpu", batch: int = 128):
    loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=batch, shuffle=False)
    feats, labels = [], []
    for x, y in loader:
        feats.append(model.encode_image(x.to(device), normalize=True).float().cpu())
        labels.append(torch.as_tensor(y).long())
    if not feats:
        return torch.zeros(0, 1), torch.zeros(0, dtype=torch.long)
    return torch.cat(feats), torch.cat(labels)


def topk_accuracy(feats: torch.Tensor, labels: torch.Tensor, classifier: torch.Tensor,
                  ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Top-k accuracy in percent of image features against a [C, d] text classifier (the core's metric).

    An empty set scores 0 here, not NaN: the step search reads "0" as "nothing left to forget".
    """
    if len(labels) == 0:
        return {k: 0.0 for k in ks}
    from unlearnkit.shared.metrics.accuracy import topk_accuracy as core_topk

    return core_topk(feats @ classifier.t().to(feats.dtype), labels, ks)


def zero_shot_accuracy(model: nn.Module, tokenize: Callable, data: Dataset, class_names: Sequence[str],
                       templates: Sequence[str] = DEFAULT_TEMPLATES, device="cpu") -> dict[int, float]:
    model.eval()
    clf = text_classifier(model, tokenize, class_names, templates, device).cpu()
    feats, labels = image_features(model, data, device)
    return topk_accuracy(feats, labels, clf)


@dataclass
class EvalSet:
    """Images + labels + the class names/templates they are classified over."""

    data: Dataset
    class_names: Sequence[str]
    templates: Sequence[str] = DEFAULT_TEMPLATES


class CachedEvaluator:
    """Forget accuracy (on the forget identity's images) and utility (on the utility set) of ``model``
    as it is right now, recomputing only the tower touched by ``edited``."""

    def __init__(self, model: nn.Module, tokenize: Callable, forget: EvalSet, utility: EvalSet,
                 forget_label: int, device="cpu"):
        self.model, self.tokenize, self.device = model, tokenize, device
        self.forget, self.utility, self.forget_label = forget, utility, forget_label
        self._cache: dict[str, torch.Tensor] = {}

    def _clf(self, es: EvalSet, key: str, fresh: bool) -> torch.Tensor:
        if fresh or key not in self._cache:
            self._cache[key] = text_classifier(self.model, self.tokenize, es.class_names, es.templates,
                                               self.device).cpu()
        return self._cache[key]

    def _feats(self, es: EvalSet, key: str, fresh: bool):
        if fresh or key not in self._cache:
            self._cache[key] = image_features(self.model, es.data, self.device)
        return self._cache[key]

    def fresh(self) -> dict[str, float]:
        """Evaluate from scratch (the model changed everywhere, e.g. during baseline training)."""
        self._cache.clear()
        return self(None)

    def __call__(self, edited: str | None = None, utility: bool = True) -> dict[str, float]:
        """``edited``: the parameter name currently changed (None: nothing changed since the cache).
        ``utility=False`` skips the utility set (the search only needs utility where the target is reached)."""
        self.model.eval()
        text_changed = edited is not None and not edited.startswith("visual.")
        image_changed = edited is not None and edited.startswith("visual.")
        fclf = self._clf(self.forget, "forget_clf", text_changed)
        ff, fl = self._feats(self.forget, "forget_feats", image_changed)
        facc = topk_accuracy(ff, fl, fclf)
        out = {"forget_top1": facc[1], "forget_top5": facc[5]}
        if utility:
            same = (list(self.utility.class_names), list(self.utility.templates)) == (
                list(self.forget.class_names), list(self.forget.templates))
            uclf = fclf if same else self._clf(self.utility, "utility_clf", text_changed)
            uf, ul = self._feats(self.utility, "utility_feats", image_changed)
            uacc = topk_accuracy(uf, ul, uclf)
            out.update(utility_top1=uacc[1], utility_top5=uacc[5])
        if edited is not None:  # keep the cache describing the unedited model
            for k in (("forget_clf", "utility_clf") if text_changed else ("forget_feats", "utility_feats")):
                self._cache.pop(k, None)
        return out

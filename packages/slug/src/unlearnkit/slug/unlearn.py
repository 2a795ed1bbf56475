"""SLUG end to end on loaded gradients: search every Pareto layer, pick one, apply it once."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ._core import UnlearnkitError, append_jsonl
from .layers import LayerScore
from .search import TARGETS, SearchResult, Trial, choose_layer, search_step
from .update import apply_single_layer_update, get_parameter, initial_ratio, single_layer_edit


@dataclass
class SlugOutcome:
    chosen: SearchResult | None
    results: list[SearchResult]
    seconds: float


def make_trial_fn(model: nn.Module, name: str, grad: torch.Tensor, evaluator: Callable[..., Mapping[str, float]],
                  reached: Callable[[Trial], bool] | None = None) -> Callable[[float], Trial]:
    """Utility is only ever read at a step that reaches the target (the chosen step is one of those), so
    it is measured only there when ``reached`` is given: most trials then cost one forget-set pass."""

    def trial(step: float) -> Trial:
        with single_layer_edit(model, name, grad, step):
            m = dict(evaluator(name, utility=reached is None))
            if reached is not None and reached(Trial(step, m["forget_top1"], m["forget_top5"], float("nan"))):
                m = dict(evaluator(name, utility=True))
        return Trial(step, m["forget_top1"], m["forget_top5"], m.get("utility_top1", float("nan")), extra=m)

    return trial


def run_search(model: nn.Module, g_forget: Mapping[str, torch.Tensor], layers: Sequence[LayerScore],
               evaluator: Callable[[str | None], Mapping[str, float]], *, target: str = "top5",
               threshold: float = 0.0, max_iter: int = 10, log_path: str | Path | None = None,
               towers: Sequence[str] = ("vision", "text"), progress: Callable[[str], None] | None = None) -> SlugOutcome:
    """Search each Pareto layer of the chosen towers (every trial appended to ``log_path``) and choose."""
    start = time.perf_counter()
    todo = [s for s in layers if s.pareto and s.tower in towers]
    if not todo:
        raise UnlearnkitError(f"no Pareto layers in towers {list(towers)}")
    results = []
    for s in todo:
        if progress:
            progress(s.name)
        theta = get_parameter(model, s.name).detach()
        r0 = initial_ratio(theta, g_forget[s.name])

        def log(t: Trial, layer=s.name):
            if log_path is not None:
                append_jsonl(log_path, {"layer": layer, "step": t.step, "reached": t.reached, **t.extra})

        def reached(t: Trial) -> bool:
            return TARGETS[target](t, threshold)

        results.append(search_step(make_trial_fn(model, s.name, g_forget[s.name], evaluator, reached), r0, layer=s.name,
                                   target=target, threshold=threshold, max_iter=max_iter, on_trial=log))
    return SlugOutcome(choose_layer(results), results, time.perf_counter() - start)


def apply_outcome(model: nn.Module, g_forget: Mapping[str, torch.Tensor], outcome: SlugOutcome) -> nn.Module:
    if outcome.chosen is None:
        raise UnlearnkitError("no searched layer reached the forget target; raise --max-iter or loosen --threshold")
    return apply_single_layer_update(model, outcome.chosen.layer, g_forget[outcome.chosen.layer], outcome.chosen.high)

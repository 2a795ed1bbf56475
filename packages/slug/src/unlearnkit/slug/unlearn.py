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
from .search import REL_TOL, SearchResult, Trial, choose_layer, search_step
from .update import apply_single_layer_update, get_parameter, initial_ratio, single_layer_edit


@dataclass
class SlugOutcome:
    chosen: SearchResult | None
    results: list[SearchResult]
    seconds: float


def make_trial_fn(model: nn.Module, name: str, grad: torch.Tensor,
                  evaluator: Callable[..., Mapping[str, float]]) -> Callable[[float], Trial]:
    """A search trial measures the forget set only: whether a step reaches the target is all the search
    needs. Utility is read only at each layer's final step (see :func:`measure_utility`)."""

    def trial(step: float) -> Trial:
        with single_layer_edit(model, name, grad, step):
            m = dict(evaluator(name, utility=False))
        return Trial(step, m["forget_top1"], m["forget_top5"], float("nan"), extra=m)

    return trial


def measure_utility(model: nn.Module, name: str, grad: torch.Tensor, evaluator: Callable[..., Mapping[str, float]],
                    trial: Trial) -> Trial:
    """Fill in the utility of one trial (a layer's final step): the only utility the layer choice reads, so
    the utility set is evaluated once per layer instead of once per reaching step."""
    with single_layer_edit(model, name, grad, trial.step):
        m = dict(evaluator(name, utility=True))
    trial.utility = m.get("utility_top1", float("nan"))
    trial.extra = m
    return trial


def run_search(model: nn.Module, g_forget: Mapping[str, torch.Tensor], layers: Sequence[LayerScore],
               evaluator: Callable[[str | None], Mapping[str, float]], *, target: str = "top5",
               threshold: float = 0.0, max_iter: int = 10, rel_tol: float = REL_TOL,
               log_path: str | Path | None = None, towers: Sequence[str] = ("vision", "text"),
               progress: Callable[[str], None] | None = None) -> SlugOutcome:
    """Search each Pareto layer of the chosen towers and choose. Every trial is appended to ``log_path``
    (forget accuracy only), then one ``"final": true`` line per layer with its final step's utility."""
    start = time.perf_counter()
    todo = [s for s in layers if s.pareto and s.tower in towers]
    if not todo:
        raise UnlearnkitError(f"no Pareto layers in towers {list(towers)}")
    results = []
    for s in todo:
        if progress:
            progress(s.name)
        theta = get_parameter(model, s.name).detach()
        grad = g_forget[s.name]
        r0 = initial_ratio(theta, grad)

        def log(t: Trial, layer=s.name, final=False):
            if log_path is not None:
                append_jsonl(log_path, {"layer": layer, "step": t.step, "reached": t.reached, **t.extra}
                             | ({"final": True} if final else {}))

        result = search_step(make_trial_fn(model, s.name, grad, evaluator), r0, layer=s.name, target=target,
                             threshold=threshold, max_iter=max_iter, rel_tol=rel_tol, on_trial=log)
        if result.reached:
            log(measure_utility(model, s.name, grad, evaluator, result.final), final=True)
        results.append(result)
    return SlugOutcome(choose_layer(results), results, time.perf_counter() - start)


def apply_outcome(model: nn.Module, g_forget: Mapping[str, torch.Tensor], outcome: SlugOutcome) -> nn.Module:
    if outcome.chosen is None:
        raise UnlearnkitError("no searched layer reached the forget target; raise --max-iter or loosen --threshold")
    return apply_single_layer_update(model, outcome.chosen.layer, g_forget[outcome.chosen.layer], outcome.chosen.high)

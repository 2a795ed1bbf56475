from __future__ import annotations

import math

import pytest
from unlearnkit.slug.search import SearchResult, Trial, choose_layer, search_step


def mock(threshold: float, calls: list):
    def evaluate(step: float) -> Trial:
        calls.append(step)
        forgotten = step >= threshold
        return Trial(step, 0.0 if forgotten else 50.0, 0.0 if forgotten else 90.0, 80.0 - step)

    return evaluate


@pytest.mark.parametrize("threshold", [0.0123, 0.37, 1.0, 7.9, 40.0])
def test_search_brackets_threshold_within_ten_iterations(threshold):
    calls: list = []
    r = search_step(mock(threshold, calls), r0=1.0, target="top5", threshold=0.0, max_iter=10)
    assert len(calls) <= 10 and calls[0] == pytest.approx(0.1)
    assert r.reached and r.low < threshold <= r.high
    assert r.final.step == r.high and r.final.forget_top5 == 0.0
    if r.low > 0:  # after doubling, every remaining iteration halves the bracket
        assert r.high / r.low <= 2.0
    if 0.1 < threshold <= 1.0:  # few doublings leave many bisections: tight
        assert (r.high - r.low) / r.high < 0.1


def test_search_never_reaching_reports_inf():
    r = search_step(mock(1e9, []), r0=1.0, max_iter=10)
    assert not r.reached and math.isinf(r.high) and r.final is None
    assert r.trials[-1].step == pytest.approx(0.1 * 2 ** 9)


def test_choose_layer_prefers_utility_then_smaller_step():
    def res(name, util, high):
        t = Trial(high, 0, 0, util, reached=True)
        return SearchResult(name, 1.0, [t], 0.0, high)

    none = SearchResult("n", 1.0, [Trial(1, 50, 50, 99)], 1.0, math.inf)
    assert choose_layer([res("a", 70, 1.0), res("b", 80, 2.0), none]).layer == "b"
    assert choose_layer([res("a", 80, 1.0), res("b", 80, 2.0)]).layer == "a"
    assert choose_layer([none]) is None


def test_search_stops_at_the_relative_tolerance():
    calls: list = []
    r = search_step(mock(0.37, calls), r0=1.0, threshold=0.0, max_iter=10, rel_tol=0.1)
    assert r.reached and r.low < 0.37 <= r.high and (r.high - r.low) <= 0.1 * r.high
    assert len(calls) < 10
    full: list = []
    search_step(mock(0.37, full), r0=1.0, threshold=0.0, max_iter=10, rel_tol=0.0)
    assert len(full) == 10 and full[:len(calls)] == calls


def test_run_search_reads_utility_once_per_reaching_layer():
    import torch
    from unlearnkit.slug.layers import LayerScore
    from unlearnkit.slug.unlearn import run_search

    model = torch.nn.Module()
    model.a, model.b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    grads = {n: torch.ones_like(p) for n, p in model.named_parameters()}
    calls = {"utility": 0, "forget": 0}

    def evaluator(name, utility=True):
        # forgotten once the edited weight moved far enough; utility worse for larger steps
        shift = float(dict(model.named_parameters())[name].detach().sum())
        calls["utility" if utility else "forget"] += 1
        out = {"forget_top1": 0.0 if shift > 20 else 80.0, "forget_top5": 0.0 if shift > 20 else 99.0}
        return out | ({"utility_top1": 90.0 - shift} if utility else {})

    fields = {"importance": 1.0, "alignment": 0.0, "numel": 4}
    layers = [LayerScore(name="a.weight", tower="vision", pareto=True, **fields),
              LayerScore(name="b.weight", tower="text", pareto=True, **fields)]
    out = run_search(model, grads, layers, evaluator, target="top1", threshold=5.0, max_iter=10)
    assert all(r.reached for r in out.results) and calls["utility"] == 2
    assert all(r.final.utility == r.final.extra["utility_top1"] for r in out.results)
    assert all(math.isnan(t.utility) for r in out.results for t in r.trials if t is not r.final)

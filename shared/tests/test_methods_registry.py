"""Method registry: applicability, parameter overrides, RTE, and plugin discovery through entry points."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pytest
import torch
from unlearnkit.shared.data import ForgetRequest, load_dataset, make_splits
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.methods import MethodSpec, UnlearnContext, base, get_method, run_method
from unlearnkit.shared.models import create_model

BASELINES = ("retrain", "ft", "ga", "neggrad", "rl", "l1_sparse", "salun", "scrub", "bad_teacher", "ssd")


@pytest.fixture(scope="module")
def ctx():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    request = ForgetRequest.random(train, count=40, seed=0)
    splits = make_splits(request, train, test)
    model = create_model("mlp", 10, in_chans=1, hidden=16)
    context = UnlearnContext.from_splits(splits, request, model, progress=False)
    context.meta["test_model"] = model  # trainable (ctx.original is frozen: nothing in it would train)
    return context


def test_every_baseline_is_registered():
    for name in BASELINES:
        assert get_method(name).name == name


def test_applicable_rejects_a_missing_retain_set(ctx):
    no_retain = UnlearnContext(**{**ctx.__dict__, "retain": None})
    ok, why = get_method("ft").applicable(no_retain)
    assert not ok and "retain" in why
    assert get_method("ga").applicable(no_retain)[0]
    for name in ("retrain", "rl", "salun", "scrub", "bad_teacher", "ssd", "neggrad", "l1_sparse"):
        assert not get_method(name).applicable(no_retain)[0], name
    with pytest.raises(UnlearnkitError, match="retain"):
        run_method("ft", ctx.original, no_retain)


def test_run_method_returns_rte_and_parses_string_overrides(ctx):
    model = ctx.meta["test_model"]
    out, rte = run_method("ga", model, ctx, lr="0.0001", epochs="1")
    assert rte["seconds"] > 0
    assert out is not model
    assert any(not torch.equal(a, b) for a, b in zip(out.parameters(), model.parameters(), strict=True))
    with pytest.raises(UnlearnkitError, match="no parameter"):
        run_method("ga", model, ctx, nonsense=1)


@dataclass
class _P:
    strength: float = 1.0


class _FakeEntryPoint:
    def __init__(self, name, provider):
        self.name, self._provider = name, provider

    def load(self):
        if isinstance(self._provider, Exception):
            raise self._provider
        return self._provider


def test_discovery_finds_a_plugin_method(monkeypatch, ctx):
    spec = MethodSpec(name="plugin_identity", fn=lambda model, c, p: model, params_cls=_P, package="fake-plugin")
    seen_groups = []

    def fake_entry_points(group):
        seen_groups.append(group)
        return [_FakeEntryPoint("fake", lambda: [spec]), _FakeEntryPoint("broken", ImportError("boom"))]

    monkeypatch.setattr(base, "entry_points", fake_entry_points)
    monkeypatch.setattr(base, "_discovered", False)
    monkeypatch.setattr(base.METHODS, "_items", dict(base.METHODS._items))  # undone after the test
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = base.discover_methods()
    assert seen_groups == ["unlearnkit.methods"]
    assert "plugin_identity" in names and "ft" in names
    assert any("broken" in str(w.message) for w in caught), "a broken plugin should warn, not fail"
    assert get_method("plugin_identity").package == "fake-plugin"
    out, rte = run_method("plugin_identity", ctx.original, ctx, strength="2")
    assert rte["seconds"] >= 0
    assert base.discover_methods() == names  # loads once
    assert len(seen_groups) == 1

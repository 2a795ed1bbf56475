"""The bench sees both methods, runs them through the core's method interface, and skips Naive PS without W_init."""

import pytest
from unlearnkit.ps_unlearn.methods import register
from unlearnkit.shared.checkpoint import load_model
from unlearnkit.shared.data import ForgetRequest, load_dataset, make_splits
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.methods import UnlearnContext, get_method, list_methods, run_method
from unlearnkit.shared.metrics import accuracy


@pytest.fixture(scope="module")
def ctx(digits_run):
    _, path = digits_run
    model, meta = load_model(path)
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    request = ForgetRequest.subclass(train, 1, 0.1, seed=209)
    splits = make_splits(request, train, test)
    return model, UnlearnContext.from_splits(splits, request, model, meta=meta, seed=0)


def test_register_and_discovery():
    assert [s.name for s in register()] == ["naive_ps", "ps"]
    names = {s.name for s in list_methods()}
    assert {"naive_ps", "ps"} <= names
    assert get_method("naive_ps").requires_meta == ("init_classifier",)


def test_run_both_through_core(ctx):
    model, context = ctx
    for name in ("naive_ps", "ps"):
        out, rte = run_method(name, model, context)
        assert rte["seconds"] >= 0
        assert abs(accuracy(out, context.test) - accuracy(model, context.test)) <= 2.0
    out, _ = run_method("ps", model, context, stop_at="none", epochs=30, lr=0.05)
    assert accuracy(out, context.forget) == 0.0


def test_naive_skipped_without_init_weights(ctx):
    model, context = ctx
    bare = UnlearnContext.from_splits(
        make_splits(context.request, load_dataset("digits", "train"), context.test),
        context.request,
        model,
        meta={},
    )
    ok, why = get_method("naive_ps").applicable(bare)
    assert not ok and "init_classifier" in why
    with pytest.raises(UnlearnkitError):
        run_method("naive_ps", model, bare)

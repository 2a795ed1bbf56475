import pytest
import torch
from torch.utils.data import Dataset
from unlearnkit.scar.methods import register
from unlearnkit.scar.params import ScarParams
from unlearnkit.shared.data import ForgetRequest, load_dataset, make_splits
from unlearnkit.shared.methods import UnlearnContext, get_method, run_method
from unlearnkit.shared.metrics import accuracy
from unlearnkit.shared.workflows import load_checkpoint_for


class _Untouchable(Dataset):
    """A forget set that fails the test if anything reads it."""

    def __init__(self, base):
        self.info, self.targets = base.info, base.targets

    def __len__(self):
        raise AssertionError("the forget set was read")

    def __getitem__(self, i):
        raise AssertionError("the forget set was iterated")

    def __iter__(self):
        raise AssertionError("the forget set was iterated")


@pytest.fixture(scope="module")
def setup(original_ckpt):
    model, _ = load_checkpoint_for(original_ckpt)
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    req = ForgetRequest.for_classes(train, [3])
    splits = make_splits(req, train, test)
    return model, req, splits


def test_register_lists_both_methods():
    names = [s.name for s in register()]
    assert names == ["scar", "scar_self"]
    assert get_method("scar").needs_retain is False


def test_scar_cr_forgets_class_and_keeps_others(setup):
    model, req, splits = setup
    ctx = UnlearnContext.from_splits(splits, req, model)
    ctx.retain = None  # retain-free: the method must not need it
    before = accuracy(model, splits.test_retain)
    out, rte = run_method("scar", model, ctx, params=ScarParams())  # digits preset
    assert accuracy(out, splits.forget) <= 1.0
    assert accuracy(out, splits.test_retain) >= before - 3.0
    assert rte["seconds"] > 0


def test_scar_self_never_reads_forget_set(setup):
    model, req, splits = setup
    ctx = UnlearnContext.from_splits(splits, req, model)
    ctx.forget = _Untouchable(splits.forget)
    ctx.retain = None
    out, _ = run_method("scar_self", model, ctx, params=ScarParams(surrogate_quantity=2, epochs=3))
    assert isinstance(out, torch.nn.Module)
    # it still unlearns: the forgotten class's test accuracy drops
    assert accuracy(out, splits.test_forget) < accuracy(model, splits.test_forget)


def test_hr_uses_the_latest_class_weights_at_every_step(setup, monkeypatch):
    """HR weights are refreshed after every step; each step must use the newest ones (the published code,
    and this package before, looked them up once per forget batch and used stale weights after)."""
    import unlearnkit.scar.algorithm as alg
    from unlearnkit.scar.surrogate import SurrogateSpec, build_surrogate

    model, _, splits = setup
    train = load_dataset("digits", "train")
    req = ForgetRequest.random(train, count=40, seed=0)
    hr = make_splits(req, train, load_dataset("digits", "test"))
    issued, used = [], []
    real_weights, real_loss = alg.hr_class_weights, alg.forget_loss

    def weights(per_class, threshold):
        w = real_weights(per_class, threshold) * 0 + (len(issued) + 1)  # a new, recognisable value each time
        issued.append(float(w[0]))
        return w

    def loss(d, w=None):
        used.append(None if w is None else float(w[0]))
        return real_loss(d, w)

    monkeypatch.setattr(alg, "hr_class_weights", weights)
    monkeypatch.setattr(alg, "forget_loss", loss)
    sur = build_surrogate(SurrogateSpec("noise", quantity=1, chunk_size=64), train.info)
    params = ScarParams(bsize=16, epochs=1, num_surrogate_batches=2, check_every="step", target=0.0,
                        min_epochs=5)
    copy = load_checkpoint_for_copy(model)
    alg.scar(copy, original=model, forget=hr.forget, surrogate=sur, mode="HR", forget_classes=[], num_classes=10,
             target=0.0, params=params)
    assert len(used) >= 6  # 3 forget batches x 3 steps
    # step i runs after i checks: it must use the (i+1)-th weights issued (the first comes before step 1)
    assert used == issued[: len(used)]


def load_checkpoint_for_copy(model):
    import copy

    return copy.deepcopy(model)

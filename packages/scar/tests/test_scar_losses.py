import math

import pytest
import torch
from unlearnkit.scar.losses import DIVERGENCES, drop_forgotten_teacher, forget_loss, hr_class_weights
from unlearnkit.scar.stopping import StopRule


def test_drop_forgotten_teacher_excludes_images_of_forgotten_class():
    teacher = torch.tensor([[5.0, 1.0, 0.0], [0.0, 4.0, 1.0], [1.0, 0.5, 3.0]])
    keep, kept = drop_forgotten_teacher(teacher, [1])
    assert keep.tolist() == [True, False, True]
    assert kept.shape == (2, 3)
    assert kept[:, 1].tolist() == [0.0, 0.0]  # forgotten logit set to the kept batch's minimum
    assert kept[0, 0] == 5.0 and kept[1, 2] == 3.0


def test_kl_zero_for_equal_and_known_value():
    kl = DIVERGENCES.get("kl")
    a = torch.tensor([[1.0, 2.0, 3.0]])
    assert kl(a, a, 1.0).item() == pytest.approx(0.0, abs=1e-7)
    p = torch.tensor([[0.0, math.log(3.0)]])  # teacher softmax (0.25, 0.75)
    q = torch.zeros(1, 2)  # student uniform
    expected = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert kl(q, p, 1.0).item() == pytest.approx(expected, rel=1e-5)


def test_js_symmetric_and_bounded():
    js = DIVERGENCES.get("js")
    a, b = torch.tensor([[10.0, -10.0]]), torch.tensor([[-10.0, 10.0]])
    assert js(a, b, 1.0).item() == pytest.approx(js(b, a, 1.0).item(), rel=1e-6)
    assert js(a, b, 1.0).item() == pytest.approx(math.log(2), rel=1e-3)


def test_hr_weights_and_weighted_forget_loss():
    w = hr_class_weights(torch.tensor([0.9, 0.5, 1.0]), 0.8)
    assert w.tolist() == pytest.approx([0.9, 0.0, 1.0])
    d = torch.tensor([1.0, 2.0, 3.0])
    assert forget_loss(d, w[torch.tensor([0, 1, 2])]).item() == pytest.approx((0.9 + 0 + 3) / 3)


def test_stop_rule_stops_on_target_only_after_min_epochs():
    rule = StopRule(target=0.01, min_epochs=2)
    assert not rule.should_stop(0.0, epoch=1)
    assert not rule.should_stop(0.02, epoch=5)
    assert not rule.should_stop(0.01, epoch=5)  # strictly below the target
    assert rule.should_stop(0.009, epoch=2)

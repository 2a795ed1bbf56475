"""Soft labels and the soft cross-entropy against hand-computed answers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from unlearnkit.ps_unlearn.soft_labels import soft_cross_entropy, soft_labels
from unlearnkit.shared.errors import UnlearnkitError


def test_known_answer_moves_mass_to_top_two_others():
    z = torch.tensor([[1.0, 5.0, 3.0, 2.0, -1.0]])
    got = soft_labels(z, 1)[0].double()
    # others: class 2 (3.0) and class 3 (2.0); delta = 5
    pa = math.exp(3) / (math.exp(3) + math.exp(2))
    new = torch.tensor([1.0, float("-inf"), 3 + 5 * pa, 2 + 5 * (1 - pa), -1.0], dtype=torch.float64)
    torch.testing.assert_close(got, torch.softmax(new, 0), atol=1e-6, rtol=0)
    assert got[1] == 0.0
    assert got[2] > got[3] > got[0] > got[4]
    # classes outside the top two keep their relative odds
    assert got[0] / got[4] == pytest.approx(math.exp(2), rel=1e-5)


def test_forget_class_excluded_with_negative_logits():
    """The published code zeroed the forget logit before the top-2 search, so with all-negative logits it
    picked the forget class itself. Here the forget class can never be one of the receivers."""
    z = torch.tensor([[-4.0, -1.0, -2.0, -3.0]])
    got = soft_labels(z, 0)[0].double()
    pa = math.exp(-1) / (math.exp(-1) + math.exp(-2))
    new = torch.tensor([float("-inf"), -1 - 4 * pa, -2 - 4 * (1 - pa), -3.0], dtype=torch.float64)
    torch.testing.assert_close(got, torch.softmax(new, 0), atol=1e-6, rtol=0)
    assert got[0] == 0.0
    assert float(got.sum()) == pytest.approx(1.0, abs=1e-6)


def test_per_sample_classes_and_many_classes():
    torch.manual_seed(0)
    z = torch.randn(64, 37)
    cls = torch.randint(0, 37, (64,))
    p = soft_labels(z, cls)
    assert p.shape == (64, 37)
    torch.testing.assert_close(p.sum(1), torch.ones(64))
    assert (p.gather(1, cls[:, None]) == 0).all()
    others = z.scatter(1, cls[:, None], float("-inf")).topk(2, 1).indices
    # the two receivers are the two most probable classes afterwards when delta > 0
    pos = z.gather(1, cls[:, None]).squeeze(1) > 0
    assert (p.topk(2, 1).indices.sort(1).values[pos] == others.sort(1).values[pos]).all()


def test_two_classes_gives_all_mass_to_the_other():
    p = soft_labels(torch.tensor([[2.0, 0.5], [0.1, 3.0]]), torch.tensor([0, 1]))
    torch.testing.assert_close(p, torch.tensor([[0.0, 1.0], [1.0, 0.0]]))


def test_bad_class_raises():
    with pytest.raises(UnlearnkitError):
        soft_labels(torch.zeros(2, 3), 3)


def test_cross_entropy_applies_softmax_once():
    torch.manual_seed(0)
    logits = torch.randn(8, 5, requires_grad=True)
    target = torch.softmax(torch.randn(8, 5), 1)
    loss = soft_cross_entropy(logits, target)
    torch.testing.assert_close(loss, F.cross_entropy(logits, target))
    double = F.cross_entropy(torch.softmax(logits, 1), target)
    assert abs(loss.item() - double.item()) > 0.1
    # at logits = log(target) the loss is minimal: zero gradient (a double softmax would not be)
    at_target = target.log().clone().requires_grad_(True)
    soft_cross_entropy(at_target, target).backward()
    assert at_target.grad.abs().max() < 1e-6
    at_target2 = target.log().clone().requires_grad_(True)
    F.cross_entropy(torch.softmax(at_target2, 1), target).backward()
    assert at_target2.grad.abs().max() > 1e-3


def _published_view_semantics(z: np.ndarray, c: int) -> np.ndarray:
    """The published relabelling, re-implemented to show its effect: the forget logit it hands over is read
    through a numpy *view* of column ``c``, which is overwritten with -9999 before it is used, so the two
    receivers get ``-9999 * share`` added instead of ``z_c * share``."""
    new = z.copy()
    search = z.copy()
    search[:, c] = 0.0
    delta = new[:, c]  # a view, not a copy ...
    new[:, c] = -9999.0  # ... so delta is now -9999 too
    top = np.argsort(search, axis=1)[:, ::-1][:, :2]
    rows = np.arange(len(z))[:, None]
    vals = search[rows, top]
    share = np.exp(vals - vals.max(1, keepdims=True))
    share /= share.sum(1, keepdims=True)
    new[rows, top] += delta[:, None] * share
    e = np.exp(new - new.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_published_labels_starve_the_two_most_similar_classes():
    """Our soft labels put the forget class's mass on its two most similar classes (the paper); the published
    code's labels give exactly those two classes almost nothing. Published PS numbers used the latter."""
    z = np.array([[2.0, 5.0, 4.0, 3.0, 0.5]])  # forget class 1; most similar: classes 2 and 3
    ours = soft_labels(torch.tensor(z), 1)[0].numpy()
    published = _published_view_semantics(z, 1)[0]
    assert ours[2] + ours[3] > 0.99 and ours.argmax() == 2
    assert published[2] + published[3] < 1e-6
    assert published.argmax() == 0  # the mass lands on the least similar classes instead
    assert published[1] == pytest.approx(0.0, abs=1e-12) and ours[1] == 0.0

"""Zero-shot CLIP metrics on a fake CLIP whose encoders are known linear maps (no downloads)."""

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset
from unlearnkit.shared.metrics import zero_shot_accuracy, zero_shot_classifier, zero_shot_logits

torch.set_num_threads(1)
CLASSES = ["zero", "one", "two"]


class FakeCLIP(nn.Module):
    """Image x in R^3 -> x Q; prompt for class c with template t -> (t + 1) e_c Q. With Q orthogonal,
    the zero-shot classifier must be Q^T (columns e_c Q) and logits 100 * cos(x, e_c)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        q, _ = torch.linalg.qr(torch.randn(3, 3))
        self.register_buffer("q", q)

    def encode_image(self, x):
        return x @ self.q

    def encode_text(self, tokens):
        cls, tmpl = tokens[:, 0], tokens[:, 1]
        return (tmpl[:, None] + 1.0) * nn.functional.one_hot(cls, 3).float() @ self.q


TEMPLATES = ["a photo of {}.", "a drawing of {}."]


def tokenizer(texts):
    return torch.tensor(
        [[next(i for i, c in enumerate(CLASSES) if f" {c}." in t), int("drawing" in t)] for t in texts]
    )


def test_zero_shot_classifier_is_known():
    model = FakeCLIP()
    clf = zero_shot_classifier(model, tokenizer, CLASSES, TEMPLATES)
    assert clf.shape == (3, 3)
    assert torch.allclose(clf, model.q.T, atol=1e-6)
    assert torch.allclose(clf.norm(dim=0), torch.ones(3))
    same = zero_shot_classifier(model, tokenizer, CLASSES, [lambda c: f"a photo of {c}."])
    assert torch.allclose(same, clf, atol=1e-6)  # template norms do not matter after normalising


def test_zero_shot_accuracy_top1_top2():
    model = FakeCLIP()
    clf = zero_shot_classifier(model, tokenizer, CLASSES, TEMPLATES)
    images = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 2], [0.4, 0.6, 0]])
    labels = torch.tensor([0, 1, 2, 0])  # the last is wrong at top-1, right at top-2
    logits = zero_shot_logits(model, clf, images)
    assert torch.allclose(logits[0], torch.tensor([100.0, 0, 0]), atol=1e-4)
    acc = zero_shot_accuracy(model, clf, TensorDataset(images, labels), topk=(1, 2))
    assert acc == pytest.approx({"top1": 75.0, "top2": 100.0})
    assert zero_shot_accuracy(model, clf, TensorDataset(images, labels))["top5"] == pytest.approx(100.0)

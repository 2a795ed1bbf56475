import torch
from unlearnkit.scar.mahalanobis import distance_to_targets, select_targets, squared_mahalanobis
from unlearnkit.scar.stats import (
    ClassStatistics,
    covariance_to_correlation,
    fit_class_statistics,
    shrink_covariance,
    tukey_transform,
)


def test_tukey_transform_hand_values_and_signed_features():
    z = torch.tensor([[0.0, 1.0, 4.0], [9.0, -4.0, 0.25]])
    out = tukey_transform(z, 0.5)
    assert torch.allclose(out, torch.tensor([[0.0, 1.0, 2.0], [3.0, -2.0, 0.5]]), atol=1e-6)


def test_tukey_gradient_is_finite_at_zero():
    z = torch.tensor([0.0, 1.0], requires_grad=True)
    tukey_transform(z, 0.5).sum().backward()
    assert torch.isfinite(z.grad).all()


def test_shrinkage_hand_3x3():
    s = torch.tensor([[2.0, 1.0, 0.0], [1.0, 4.0, 0.5], [0.0, 0.5, 6.0]], dtype=torch.float64)
    # V1 = mean(2, 4, 6) = 4; V2 = mean of non-zero off-diagonals (1, 1, .5, .5) = 0.75
    expected = torch.tensor([[2 + 12.0, 1 + 2.25, 0 + 2.25], [1 + 2.25, 4 + 12.0, 0.5 + 2.25],
                             [0 + 2.25, 0.5 + 2.25, 6 + 12.0]], dtype=torch.float64)
    assert torch.allclose(shrink_covariance(s, 3.0, 3.0), expected)


def test_correlation_hand_3x3():
    s = torch.tensor([[4.0, 2.0, 0.0], [2.0, 9.0, 3.0], [0.0, 3.0, 1.0]])
    expected = torch.tensor([[1.0, 2 / 6, 0.0], [2 / 6, 1.0, 3 / 3], [0.0, 1.0, 1.0]])
    assert torch.allclose(covariance_to_correlation(s), expected)


def _stats_three_classes():
    # Kept classes 0, 2, 3 (class 1 was forgotten): row index != label for 2 and 3.
    means = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return ClassStatistics(labels=torch.tensor([0, 2, 3]), means=means,
                           precisions=torch.eye(3).expand(3, 3, 3).clone(), counts=torch.tensor([5, 5, 5]), delta=1.0)


def test_mahalanobis_identity_precision_is_squared_euclidean_of_normalised():
    stats = _stats_three_classes()
    d = squared_mahalanobis(torch.tensor([[2.0, 0.0, 0.0]]), stats)
    assert torch.allclose(d, torch.tensor([[0.0, 2.0, 2.0]]))


def test_target_of_point_at_another_class_mean_is_that_class_label():
    stats = _stats_three_classes()
    # A forget sample of class 1 sitting exactly on class 3's mean (row 2): the target is label 3, not 2.
    z = torch.tensor([[0.0, 0.0, 5.0], [0.0, 3.0, 0.0]])
    labels = torch.tensor([1, 1])
    d = squared_mahalanobis(z, stats)
    targets = select_targets(d, labels, stats.labels)
    assert targets.tolist() == [3, 2]
    assert torch.allclose(distance_to_targets(d, stats, targets), torch.zeros(2), atol=1e-6)


def test_target_is_never_own_label():
    stats = _stats_three_classes()
    z = torch.tensor([[4.0, 0.0, 0.1]])  # nearest is class 0 = own label -> next nearest
    d = squared_mahalanobis(z, stats)
    assert select_targets(d, torch.tensor([0]), stats.labels).item() == 3


def test_fit_class_statistics_skips_excluded_and_rare_classes():
    g = torch.Generator().manual_seed(0)
    emb = torch.rand(40, 4, generator=g)
    labels = torch.tensor([0] * 15 + [1] * 15 + [2] * 9 + [3])
    stats = fit_class_statistics(emb, labels, num_classes=4, exclude=[1])
    assert stats.labels.tolist() == [0, 2]  # 1 excluded, 3 has a single sample
    assert stats.precisions.shape == (2, 4, 4)
    rows = tukey_transform(emb[labels == 2].double(), 0.5)
    assert torch.allclose(stats.means[1].double(), rows.mean(0), atol=1e-6)


def test_published_double_shrinkage_hand_2x2():
    """The published code shrinks twice: shrink(shrink(S)), V1/V2 recomputed from the once-shrunk matrix."""
    s = torch.tensor([[2.0, 1.0], [1.0, 4.0]], dtype=torch.float64)
    once = torch.tensor([[5.0, 2.0], [2.0, 7.0]], dtype=torch.float64)  # V1 = 3, V2 = 1 (gammas 1)
    twice = torch.tensor([[11.0, 4.0], [4.0, 13.0]], dtype=torch.float64)  # V1 = 6, V2 = 2
    assert torch.allclose(shrink_covariance(s, 1.0, 1.0), once)
    assert torch.allclose(shrink_covariance(once, 1.0, 1.0), twice)
    # Three points whose covariance is exactly S (delta 1: the Tukey transform is the identity here).
    rows = torch.tensor([[1.0, 1.0], [3.0, 3.0], [2.0, 5.0]], dtype=torch.float64)
    assert torch.allclose(torch.cov(rows.T), torch.tensor([[1.0, 1.0], [1.0, 4.0]], dtype=torch.float64))
    cov = torch.tensor([[1.0, 1.0], [1.0, 4.0]], dtype=torch.float64)
    v_once = torch.tensor([[1 + 2.5, 2.0], [2.0, 4 + 2.5]], dtype=torch.float64)  # V1 = 2.5, V2 = 1
    v_twice = v_once + torch.tensor([[5.0, 2.0], [2.0, 5.0]], dtype=torch.float64)  # V1 = 5, V2 = 2
    labels = torch.zeros(3, dtype=torch.long)
    for times, shrunk in ((1, v_once), (2, v_twice)):
        stats = fit_class_statistics(rows, labels, num_classes=1, delta=1.0, gamma1=1.0, gamma2=1.0,
                                     shrink_times=times)
        sd = shrunk.diagonal().sqrt()
        want = torch.linalg.inv(shrunk / (sd[:, None] * sd[None, :]))
        assert torch.allclose(stats.precisions[0].double(), want, atol=1e-5), times
    assert torch.allclose(shrink_covariance(shrink_covariance(cov, 1.0, 1.0), 1.0, 1.0), v_twice)


def test_shrinkage_param_maps_to_published_branches():
    """published: twice for SCAR (CR and HR), once for SCAR_self; single: once everywhere."""
    from unlearnkit.scar.algorithm import SurrogateView, class_statistics
    from unlearnkit.scar.params import ScarParams

    g = torch.Generator().manual_seed(0)
    emb = torch.rand(30, 3, generator=g)
    view = SurrogateView(data=None, embeddings=emb, teacher_logits=torch.nn.functional.one_hot(
        torch.arange(30) % 3, 3).float())
    kw = dict(original=None, view=view, retain=None, num_classes=3, exclude=[], device="cpu")
    single = class_statistics(ScarParams(), **kw).precisions
    published = class_statistics(ScarParams(shrinkage="published"), **kw).precisions
    self_published = class_statistics(ScarParams(shrinkage="published"), self_forget=True, **kw).precisions
    assert not torch.allclose(single, published, atol=1e-4)
    assert torch.allclose(single, self_published)
    ref = fit_class_statistics(emb, torch.arange(30) % 3, num_classes=3, shrink_times=2).precisions
    assert torch.allclose(published, ref)

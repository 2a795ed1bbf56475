import numpy as np
import pytest
import torch
from unlearnkit.lmeraser.clustering import canonical_labels, cluster_features, compute_prototypes
from unlearnkit.lmeraser.partition import make_partition
from unlearnkit.lmeraser.routing import hash_partition, nearest_prototype
from unlearnkit.shared.errors import UnlearnkitError


def blobs():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return torch.cat([c + 0.1 * torch.randn(5, 2, generator=g) for c in centres[[2, 0, 1]]])


def test_canonical_labels_follow_first_appearance():
    assert canonical_labels(np.array([5, 5, 2, 9, 2])).tolist() == [0, 0, 1, 2, 1]


def test_clustering_by_count_and_by_threshold_agree_on_clear_blobs():
    x = blobs()
    by_count = cluster_features(x, num_clusters=3)
    by_threshold = cluster_features(x, distance_threshold=3.0)
    assert by_count.tolist() == by_threshold.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    protos = compute_prototypes(x, by_count)
    assert torch.allclose(protos[0], torch.tensor([0.0, 10.0]), atol=0.2)


def test_clustering_needs_exactly_one_knob():
    with pytest.raises(UnlearnkitError):
        cluster_features(blobs())
    with pytest.raises(UnlearnkitError):
        cluster_features(blobs(), num_clusters=99)


def test_routing_ties_go_low_and_inactive_clusters_serve_nobody():
    protos = torch.tensor([[0.0], [2.0], [4.0]])
    feats = torch.tensor([[1.0], [3.9], [2.1]])
    assert nearest_prototype(feats, protos).tolist() == [0, 2, 1]
    active = torch.tensor([True, False, True])
    assert nearest_prototype(feats, protos, active).tolist() == [0, 2, 2]


def test_routing_of_a_row_does_not_depend_on_its_batch():
    g = torch.Generator().manual_seed(1)
    feats, protos = torch.randn(50, 8, generator=g), torch.randn(7, 8, generator=g)
    full = nearest_prototype(feats, protos, chunk=16)
    assert torch.equal(full[10:20], nearest_prototype(feats[10:20], protos))


def test_hash_partition_is_per_id_and_stable():
    ids = np.arange(1000)
    parts = hash_partition(ids, 7, seed=0)
    assert parts.tolist() == hash_partition(ids, 7, seed=0).tolist()
    # removing samples never moves another sample to a different partition
    assert hash_partition(ids[::3], 7, seed=0).tolist() == parts[::3].tolist()
    assert parts.tolist() != hash_partition(ids, 7, seed=1).tolist()
    assert set(parts.tolist()) == set(range(7))


def test_prototypes_depend_only_on_the_public_sample():
    x = blobs()
    public_ids, private_ids = np.arange(15), np.arange(100, 115)
    private_feats = x + 0.05
    a = make_partition("lmeraser", public_ids, x, private_ids, private_feats, num_clusters=3)
    b = make_partition("lmeraser", public_ids, x, private_ids[3:], private_feats[3:], num_clusters=3)
    assert torch.equal(a.prototypes, b.prototypes)
    for ma, mb in zip(a.members, b.members, strict=True):
        assert np.setdiff1d(ma, private_ids[:3]).tolist() == mb.tolist()


def _direct_routes(features, prototypes, active=None):
    """The former implementation (chunk x K x d float64): the reference the fast one must match exactly."""
    protos, feats = prototypes.double(), features.double()
    dist = ((feats[:, None, :] - protos[None, :, :]) ** 2).sum(-1)
    if active is not None:
        dist[:, ~active.bool()] = float("inf")
    return dist.argmin(dim=1)


def _tie_heavy_case(seed: int, n: int = 300, k: int = 40, d: int = 96):
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(k, d, generator=g)
    protos[5] = protos[3]  # duplicate prototypes: exact ties, the lower index must win
    protos[7] = protos[6].clone()
    protos[7, 0] = torch.nextafter(protos[6, 0], torch.tensor(float("inf")))  # one ulp apart
    feats = torch.randn(n, d, generator=g)
    feats[:40] = protos[torch.randint(0, k, (40,), generator=g)]  # exactly on a prototype
    feats[40:80] = (protos[3] + protos[8]) / 2 + 1e-7 * torch.randn(40, d, generator=g)  # near midpoints
    feats[80:100] = (protos[6] + protos[9]) / 2  # midpoints of a pair next to a one-ulp twin
    feats[100:120] = protos[6] + 1e-6 * torch.randn(20, d, generator=g)
    feats[120:140] = 1e3 * feats[120:140]  # large norms
    return feats, protos


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_routing_matches_the_direct_float64_computation_including_ties(seed):
    feats, protos = _tie_heavy_case(seed)
    assert nearest_prototype(feats, protos).tolist() == _direct_routes(feats, protos).tolist()
    active = torch.ones(len(protos), dtype=torch.bool)
    active[[3, 6, 11]] = False
    assert nearest_prototype(feats, protos, active).tolist() == _direct_routes(feats, protos, active).tolist()
    assert nearest_prototype(feats, protos, chunk=7).tolist() == _direct_routes(feats, protos).tolist()


def test_a_route_is_the_same_alone_and_inside_any_batch():
    feats, protos = _tie_heavy_case(3)
    full = nearest_prototype(feats, protos)
    alone = torch.cat([nearest_prototype(feats[i:i + 1], protos) for i in range(len(feats))])
    assert torch.equal(alone, full)
    perm = torch.randperm(len(feats), generator=torch.Generator().manual_seed(4))
    assert torch.equal(nearest_prototype(feats[perm], protos), full[perm])
    mixed = torch.cat([feats[60:70], torch.randn(500, feats.shape[1]) * 50, feats[:10]])
    routes = nearest_prototype(mixed, protos, chunk=128)
    assert torch.equal(routes[:10], full[60:70]) and torch.equal(routes[-10:], full[:10])
    assert nearest_prototype(feats[:0], protos).shape == (0,)

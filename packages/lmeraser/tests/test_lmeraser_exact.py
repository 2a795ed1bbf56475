"""The paper's promise: erase(train(D), X) == train(D \\ X), bit for bit on CPU."""

import dataclasses

import numpy as np
import pytest
import torch
from unlearnkit.lmeraser import engine
from unlearnkit.lmeraser.backbones import fingerprint
from unlearnkit.lmeraser.model import LMEraserModel
from unlearnkit.lmeraser.state import LMEraserState
from unlearnkit.lmeraser.testing import train_small
from unlearnkit.shared.errors import UnlearnkitError


def assert_same_model(a: LMEraserState, b: LMEraserState):
    assert a.partition.num_clusters == b.partition.num_clusters
    for c in range(a.partition.num_clusters):
        assert np.array_equal(a.partition.members[c], b.partition.members[c]), c
        sa, sb = a.clusters[c].state, b.clusters[c].state
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), (c, k)
        assert a.clusters[c].best_epoch == b.clusters[c].best_epoch


def test_cluster_seeds_and_data_make_training_reproducible(setup, small_cfg, trained):
    again = train_small(setup, small_cfg)
    assert_same_model(trained, again)


def pick_erase_ids(state, per_cluster=(2, 1)):
    """A few ids from two different clusters."""
    big = sorted(range(state.partition.num_clusters), key=lambda c: -len(state.partition.members[c]))
    return np.concatenate([state.partition.members[c][:k] for c, k in zip(big, per_cluster, strict=False)])


def test_erase_equals_training_without_the_ids(setup, small_cfg, trained):
    backbone, store, _, private, test = setup
    before = fingerprint(backbone.model)
    x = pick_erase_ids(trained)
    erased, record = engine.erase(trained, x, backbone, store)
    scratch = train_small(setup, small_cfg, private=np.setdiff1d(private, x))
    assert_same_model(erased, scratch)
    images = torch.stack([test[i][0] for i in range(len(test))])
    pa, pb = LMEraserModel(erased, backbone)(images), LMEraserModel(scratch, backbone)(images)
    assert torch.equal(pa, pb)
    assert fingerprint(backbone.model) == before  # the backbone never changes
    assert record["num_erased"] == len(x) and len(record["affected_clusters"]) == 2


def test_only_affected_clusters_change_and_input_state_is_untouched(setup, trained):
    backbone, store, *_ = setup
    snapshot = {c: {k: v.clone() for k, v in r.state.items()} for c, r in trained.clusters.items()}
    x = pick_erase_ids(trained)
    erased, record = engine.erase(trained, x, backbone, store)
    for c in range(trained.partition.num_clusters):
        same = all(torch.equal(erased.clusters[c].state[k], snapshot[c][k]) for k in snapshot[c])
        assert same == (c not in record["affected_clusters"]), c
        assert all(torch.equal(trained.clusters[c].state[k], snapshot[c][k]) for k in snapshot[c])
    assert len(trained.erased_ids) == 0 and sorted(erased.erased_ids.tolist()) == sorted(x.tolist())


def test_erasing_a_whole_cluster_deactivates_it_exactly(setup, small_cfg, trained):
    backbone, store, _, private, test = setup
    small = min((c for c in range(trained.partition.num_clusters) if len(trained.partition.members[c])),
                key=lambda c: len(trained.partition.members[c]))
    x = trained.partition.members[small]
    erased, record = engine.erase(trained, x, backbone, store)
    assert record["emptied_clusters"] == [small] and not bool(erased.partition.active()[small])
    scratch = train_small(setup, small_cfg, private=np.setdiff1d(private, x))
    assert_same_model(erased, scratch)


def test_sequential_erases_equal_one_retrain(setup, small_cfg, trained):
    backbone, store, _, private, _ = setup
    x1, x2 = pick_erase_ids(trained, (1,)), pick_erase_ids(trained, (0, 2))
    step1, _ = engine.erase(trained, x1, backbone, store)
    step2, _ = engine.erase(step1, x2, backbone, store)
    assert_same_model(step2, train_small(setup, small_cfg, private=np.setdiff1d(private, np.union1d(x1, x2))))
    assert len(step2.history) == 2


def test_random_part_tuning_is_exact_and_partitions_by_id(setup, small_cfg):
    backbone, store, _, private, _ = setup
    cfg = dataclasses.replace(small_cfg, method="random_part_tuning", num_clusters=4)
    state = train_small(setup, cfg)
    assert state.partition.routing == "ensemble" and state.partition.prototypes is None
    x = private[[0, 7, 30]]
    erased, _ = engine.erase(state, x, backbone, store)
    assert_same_model(erased, train_small(setup, cfg, private=np.setdiff1d(private, x)))


def test_one_prompt_and_patch_prompters_train(setup, small_cfg):
    for cfg in (dataclasses.replace(small_cfg, one_prompt=True, epochs=1),
                dataclasses.replace(small_cfg, prompter="random_patch", epochs=1),
                dataclasses.replace(small_cfg, prompter="fixed_patch", epochs=1)):
        state = train_small(setup, cfg)
        assert state.partition.num_clusters == (1 if cfg.one_prompt else 6)


def test_erase_refuses_bad_ids(setup, trained):
    backbone, store, public, *_ = setup
    with pytest.raises(UnlearnkitError, match="public"):
        engine.erase(trained, public[:1], backbone, store)
    with pytest.raises(UnlearnkitError, match="not private"):
        engine.erase(trained, [10**6], backbone, store)
    x = pick_erase_ids(trained, (1,))
    once, _ = engine.erase(trained, x, backbone, store)
    with pytest.raises(UnlearnkitError, match="already erased"):
        engine.erase(once, x, backbone, store)
    with pytest.raises(UnlearnkitError, match="nothing to erase"):
        engine.erase(trained, [], backbone, store)


def test_checkpoint_round_trip(tmp_path, setup, trained):
    path = trained.save(tmp_path / "lm.pt")
    loaded = LMEraserState.load(path)
    assert_same_model(trained, loaded)
    assert loaded.config == trained.config and loaded.train_cfg == trained.train_cfg
    torch.load(path, weights_only=True)  # plain tensors and values only
    with pytest.raises(UnlearnkitError, match="already exists"):
        trained.save(path)

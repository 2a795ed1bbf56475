import json
import re

import numpy as np
import pytest
import torch
from unlearnkit.shared.data import ForgetRequest, dataset_info, load_dataset, make_splits
from unlearnkit.shared.errors import ChecksumError, UnlearnkitError


def test_digits_shape_split_and_normalisation(digits):
    assert len(digits.train) == 1437 and len(digits.test) == 360
    x, y = digits.train[0]
    assert x.shape == (1, 32, 32) and isinstance(y, int)
    imgs = digits.train.base.images
    assert abs(float(imgs.mean())) < 0.01 and abs(float(imgs.std()) - 1) < 0.01
    assert set(np.unique(digits.train.targets)) == set(range(10))
    # the split is fixed: train and test never share an image
    tr = {tuple(t.flatten().tolist()) for t in digits.train.base.images[:50]}
    te = {tuple(t.flatten().tolist()) for t in digits.test.base.images}
    assert not tr & te


def test_digits_resized_rgb_for_vit():
    ds = load_dataset("digits", "test", image_size=64, in_chans=3)
    x, _ = ds[0]
    assert x.shape == (3, 64, 64)
    assert ds.info.in_chans == 3 and len(ds.info.mean) == 3


def test_class_request_and_splits(digits):
    req = ForgetRequest.for_classes(digits.train, [3, 5])
    assert set(digits.train.targets[list(req.indices)]) == {3, 5}
    splits = make_splits(req, digits.train, digits.test)
    assert len(splits.forget) + len(splits.retain) == len(digits.train)
    assert not set(splits.forget.source_indices) & set(splits.retain.source_indices)
    assert set(splits.test_forget.targets) == {3, 5} and not {3, 5} & set(splits.test_retain.targets)


def test_random_request_is_seeded(digits):
    a = ForgetRequest.random(digits.train, fraction=0.1, seed=1)
    b = ForgetRequest.random(digits.train, fraction=0.1, seed=1)
    c = ForgetRequest.random(digits.train, fraction=0.1, seed=2)
    assert a.indices == b.indices and a.checksum == b.checksum and a.indices != c.indices
    assert len(a.indices) == round(0.1 * 1437)
    assert len(ForgetRequest.random(digits.train, count=7).indices) == 7


def test_subclass_last_in_order(digits):
    req = ForgetRequest.subclass(digits.train, 1, 0.1, pick="last")
    members = np.flatnonzero(digits.train.targets == 1)
    k = round(0.1 * len(members))
    assert list(req.indices) == sorted(members[-k:].tolist())


def test_request_roundtrip_and_verification(digits, tmp_path):
    req = ForgetRequest.for_classes(digits.train, [2])
    path = tmp_path / "r.json"
    req.save(path)
    assert ForgetRequest.load(path, dataset="digits", dataset_size=1437) == req
    data = json.loads(path.read_text())
    data["indices"][0] += 1
    path.write_text(json.dumps(data))
    with pytest.raises(ChecksumError, match="checksum"):
        ForgetRequest.load(path)
    req.save(path, overwrite=True)
    with pytest.raises(UnlearnkitError, match="not 'mnist'"):
        ForgetRequest.load(path, dataset="mnist")
    with pytest.raises(UnlearnkitError, match="this one has 1000"):
        ForgetRequest.load(path, dataset_size=1000)
    with pytest.raises(UnlearnkitError, match="already exists"):
        req.save(path)


@pytest.mark.parametrize("make, message", [
    (lambda tr: ForgetRequest.for_classes(tr, [10]), "out of range"),
    (lambda tr: ForgetRequest.random(tr, fraction=0.0), r"\(0, 1\]"),
    (lambda tr: ForgetRequest.random(tr, fraction=1.5), r"\(0, 1\]"),
    (lambda tr: ForgetRequest.from_indices(tr, []), "empty"),
    (lambda tr: ForgetRequest.from_indices(tr, [0, 5000]), "out of range"),
])
def test_bad_requests(digits, make, message):
    with pytest.raises(UnlearnkitError, match=message):
        make(digits.train)


def test_unknown_dataset_and_missing_root(tmp_path):
    with pytest.raises(UnlearnkitError, match="unknown data set 'nope'"):
        load_dataset("nope")
    with pytest.raises(UnlearnkitError, match="--download"):
        load_dataset("cifar10", root=tmp_path / "missing")


def test_relabel_and_subset_keep_source_indices(digits):
    sub = digits.train.subset([5, 6, 7])
    assert list(sub.source_indices) == [5, 6, 7]
    rel = sub.relabel([0, 0, 0])
    assert [rel[i][1] for i in range(3)] == [0, 0, 0]
    assert torch.equal(rel[1][0], digits.train[6][0])


def test_dataset_info_registry():
    assert dataset_info("digits").num_classes == 10
    assert dataset_info("cifar100").num_classes == 100
    assert dataset_info("officehome-art").num_classes == 65


@pytest.mark.parametrize("spec, needle", [
    ("class:x", "class ids must be integers"), ("class:", "class ids must be integers"),
    ("random:nan", "neither a fraction"), ("random:1.5", "neither a fraction"), ("random:0", "neither a fraction"), ("random:-5", "neither a fraction"),
    ("subclass:1", "expected subclass"), ("subclass:1:1.5", "not in (0, 1]"), ("subclass:1:0.1:first", "pick"),
    ("indices:/nonexistent.txt", "index file not found"), ("/nonexistent.json", "request file not found"),
    ("banana:3", "unknown kind 'banana'"),
])
def test_request_spec_validated_without_data(spec, needle):
    from unlearnkit.shared.errors import UnlearnkitError
    from unlearnkit.shared.requests_cli import validate_request_spec

    with pytest.raises(UnlearnkitError, match=re.escape(needle)):
        validate_request_spec(spec)
    for good in ("class:3", "class:3,5", "random:0.1", "random:50", "subclass:1:0.1:last"):
        validate_request_spec(good)

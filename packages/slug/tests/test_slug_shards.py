from __future__ import annotations

import pytest
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.slug.forget_set import create_forget_set
from unlearnkit.slug.shards import Sample, ShardWriter, expand_shards, iter_shard, iter_shards


def test_roundtrip_keeps_order_and_members(tmp_path):
    samples = [Sample(f"k{i}", bytes([i]) * 10, f"caption {i}", {"i": i}) for i in range(5)]
    with ShardWriter(tmp_path / "a.tar") as w:
        for s in samples:
            w.write(s)
    back = list(iter_shard(tmp_path / "a.tar"))
    assert [s.key for s in back] == [s.key for s in samples]
    assert [s.caption for s in back] == [s.caption for s in samples]
    assert back[3].image == bytes([3]) * 10 and back[3].meta["i"] == 3
    assert not list(tmp_path.glob(".*partial"))


def test_create_forget_finds_exactly_the_matches_across_shards(tmp_path, digit_shards):
    paths, samples = digit_shards
    want = [s.image for s in samples if "seven" in s.caption.lower()]
    assert 0 < len(want) < len(samples)
    r = create_forget_set("SEVEN", [paths[0].parent], tmp_path / "seven.tar")  # folder + case-insensitive
    got = list(iter_shard(r.path))
    assert r.scanned == 300 and r.shards == 3 and r.matched == len(want)
    assert [s.image for s in got] == want
    assert all("seven" in s.caption for s in got)
    assert {s.meta["source_shard"] for s in got} == {p.name for p in paths}


def test_create_forget_cap_overwrite_and_no_match(tmp_path, digit_shards):
    paths, _ = digit_shards
    r = create_forget_set("three", paths, tmp_path / "t.tar", max_images=5)
    assert r.matched == 5 and len(list(iter_shard(r.path))) == 5
    with pytest.raises(UnlearnkitError, match="overwrite"):
        create_forget_set("three", paths, tmp_path / "t.tar")
    with pytest.raises(UnlearnkitError, match="contains"):
        create_forget_set("elon musk", paths, tmp_path / "none.tar")
    assert not (tmp_path / "none.tar").exists()


def test_expand_shards_brace_range_and_missing(digit_shards):
    paths, _ = digit_shards
    spec = str(paths[0].parent / "{00000..00002}.tar")
    assert expand_shards([spec]) == paths
    assert sum(1 for _ in iter_shards(expand_shards([spec]))) == 300
    with pytest.raises(UnlearnkitError):
        expand_shards([paths[0].parent / "99999.tar"])

"""Downstream sets resolve by name and are shaped for the model being probed."""

import numpy as np
import pytest
from PIL import Image
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.spkd_transfer.downstream import downstream_names, load_downstream


def test_default_is_the_digits_test_split():
    ds = load_downstream("digits-test")
    assert len(ds) == 360 and set(ds.targets.tolist()) == set(range(10))
    assert tuple(ds[0][0].shape) == (1, 32, 32)
    assert tuple(load_downstream("digits-test", image_size=64, in_chans=3)[0][0].shape) == (3, 64, 64)


def test_image_folder_and_named_folders(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / "images" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(tmp_path / "images" / cls / f"{i}.png")
    ds = load_downstream(f"folder:{tmp_path / 'images'}", image_size=32, in_chans=1)
    assert len(ds) == 6 and tuple(ds[0][0].shape) == (1, 32, 32)
    cub = load_downstream("cub", root=tmp_path, image_size=32, in_chans=3)  # <root>/images, as CUB ships it
    assert sorted(set(cub.targets.tolist())) == [0, 1] and tuple(cub[0][0].shape) == (3, 32, 32)


def test_missing_and_unknown_sets_are_user_errors(tmp_path):
    with pytest.raises(UnlearnkitError, match="not found"):
        load_downstream("domainnet-sketch", root=tmp_path)
    with pytest.raises(UnlearnkitError, match="unknown downstream"):
        load_downstream("nope")
    assert {"digits-test", "officehome-art", "cub", "domainnet-real"} <= set(downstream_names())

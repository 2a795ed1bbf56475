import io
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image
from unlearnkit.scar.organise import organise_surrogate
from unlearnkit.scar.surrogate import SurrogateSpec, build_surrogate
from unlearnkit.shared.data import dataset_info
from unlearnkit.shared.errors import UnlearnkitError

DIGITS = dataset_info("digits")


def _png(seed, size=20):
    arr = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    return Image.fromarray(arr)


def test_photo_crops_in_digits_format_and_seeded():
    a = build_surrogate(SurrogateSpec("photos", quantity=1, chunk_size=64, seed=1), DIGITS)
    b = build_surrogate(SurrogateSpec("photos", quantity=1, chunk_size=64, seed=1), DIGITS)
    x, y = a[0]
    assert x.shape == (1, 32, 32) and y == -1 and len(a) == 64
    assert torch.equal(a.images, b.images)
    assert a.images.std() > 0.1  # real texture, not a constant


def test_noise_source_shape():
    s = build_surrogate(SurrogateSpec("noise", quantity=1, chunk_size=10), dataset_info("cifar10"))
    assert s.images.shape == (10, 3, 32, 32)


def test_organise_folder_into_chunks_and_load_first_k(tmp_path):
    src = tmp_path / "raw" / "sub"
    src.mkdir(parents=True)
    for i in range(7):
        _png(i).save(src / f"img{i}.png")
    out = tmp_path / "sur"
    m = organise_surrogate(tmp_path / "raw", out, image_size=32, chunk_size=3, count=7)
    assert m["count"] == 7 and m["chunks"] == 3
    assert sorted(p.name for p in out.iterdir()) == ["class_0", "class_1", "class_2", "manifest.json"]
    assert Image.open(next((out / "class_0").iterdir())).size == (32, 32)
    ds = build_surrogate(SurrogateSpec("folder", path=str(out), quantity=2, chunk_size=3), DIGITS)
    assert len(ds) == 6 and ds[0][0].shape == (1, 32, 32)
    with pytest.raises(UnlearnkitError, match="already exists"):
        organise_surrogate(tmp_path / "raw", out, image_size=32, chunk_size=3, count=7)
    # --overwrite merges: an unrelated file survives, and a smaller run's manifest hides the older third chunk
    (out / "notes.txt").write_text("mine")
    m = organise_surrogate(tmp_path / "raw", out, image_size=32, chunk_size=3, count=4, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine" and m["chunks"] == 2
    ds = build_surrogate(SurrogateSpec("folder", path=str(out), quantity=2, chunk_size=3), DIGITS)
    assert len(ds) == 6  # class_1 keeps the older run's files beside the new one's (merged, never deleted)
    with pytest.raises(UnlearnkitError, match="chunks"):
        build_surrogate(SurrogateSpec("folder", path=str(out), quantity=3, chunk_size=3), DIGITS)
    # the source itself (or a folder inside it) is never an output
    with pytest.raises(UnlearnkitError, match="input SOURCE"):
        organise_surrogate(src, src, image_size=32, chunk_size=3, count=4, overwrite=True)
    with pytest.raises(UnlearnkitError, match="overlaps"):
        organise_surrogate(src, src / "out", image_size=32, chunk_size=3, count=4, overwrite=True)
    assert sorted(p.name for p in src.iterdir()) == [f"img{i}.png" for i in range(7)]


def test_webdataset_shards(tmp_path):
    for s in range(2):
        with tarfile.open(tmp_path / f"shard-{s:03d}.tar", "w") as tar:
            for i in range(3):
                buf = io.BytesIO()
                _png(10 * s + i).save(buf, format="PNG")
                info = tarfile.TarInfo(f"{s}_{i}.png")
                info.size = len(buf.getvalue())
                tar.addfile(info, io.BytesIO(buf.getvalue()))
    ds = build_surrogate(SurrogateSpec("webdataset", path=str(tmp_path / "shard-{000..001}.tar"), quantity=1,
                                       chunk_size=5), DIGITS)
    assert len(ds) == 5 and ds[0][0].shape == (1, 32, 32)
    m = organise_surrogate(str(tmp_path / "shard-{000..001}.tar"), tmp_path / "out", image_size=16, chunk_size=4,
                           count=6)
    assert m["count"] == 6 and m["chunks"] == 2


def test_same_dataset_refused_as_surrogate():
    with pytest.raises(UnlearnkitError, match="in-distribution"):
        build_surrogate(SurrogateSpec("dataset", path="digits"), DIGITS)


def test_unknown_source_is_user_error():
    with pytest.raises(UnlearnkitError, match="surrogate source"):
        build_surrogate(SurrogateSpec("nope"), DIGITS)

import pytest
import torch
from unlearnkit.shared.checkpoint import load_model, save_model
from unlearnkit.shared.errors import ChecksumError, UnlearnkitError
from unlearnkit.shared.io import file_md5
from unlearnkit.shared.models import create_model, load_weights


@pytest.mark.parametrize("name, kw, dim", [
    ("lenet5", {}, 64), ("mlp", {}, 128), ("resnet20", {}, 64), ("resnet18", {"stem": "cifar"}, 512),
    ("vit-tiny-test", {}, 64),
])
def test_models_share_one_shape(name, kw, dim):
    torch.manual_seed(0)
    m = create_model(name, 7, in_chans=1, **kw).eval()
    x = torch.randn(2, 1, 32, 32)
    feats = m.features(x)
    assert feats.shape == (2, dim) and m.feature_dim == dim
    assert torch.allclose(m(x), m.classifier(feats), atol=1e-6)
    assert m(x).shape == (2, 7)
    assert m.model_config["name"] == name


def test_resnet56_depth():
    m = create_model("resnet56", 100)
    assert sum(1 for n, _ in m.named_modules() if n.endswith("conv1") and "layers" in n) == 27


def test_unknown_model():
    with pytest.raises(UnlearnkitError, match="unknown model 'nope'"):
        create_model("nope", 10)


def test_load_weights_unwraps_and_verifies_md5(tmp_path):
    src = create_model("mlp", 10, in_chans=1)
    dst = create_model("mlp", 10, in_chans=1)
    path = tmp_path / "w.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in src.state_dict().items()}, "epoch": 3}, path)
    load_weights(dst, path, md5=file_md5(path))
    assert all(torch.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values(), strict=True))
    with pytest.raises(ChecksumError, match="md5"):
        load_weights(dst, path, md5="0" * 32)


def test_load_weights_mismatch_is_one_clear_error(tmp_path):
    path = tmp_path / "w.pth"
    torch.save(create_model("mlp", 5, in_chans=1).state_dict(), path)
    with pytest.raises(Exception, match="size mismatch|does not fit"):
        load_weights(create_model("lenet5", 10, in_chans=1), path)


def test_checkpoint_carries_config(tmp_path):
    m = create_model("resnet20", 10, in_chans=1)
    save_model(tmp_path / "c.pt", m, meta={"dataset": "digits"})
    back, meta = load_model(tmp_path / "c.pt")
    assert meta == {"dataset": "digits"} and type(back) is type(m)
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), back.state_dict().values(), strict=True))
    assert not list(tmp_path.glob(".*.tmp")), "atomic write left a temp file"


def test_checkpoint_refuses_pickles(tmp_path):
    import pickle

    (tmp_path / "evil.pt").write_bytes(pickle.dumps(object()))
    with pytest.raises(UnlearnkitError, match="refused: the pickle in .* not allow") as info:
        load_model(tmp_path / "evil.pt")
    assert "weights_only" not in str(info.value)

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def original_ckpt(tmp_path_factory):
    """A small LeNet-5 trained once on digits (BatchNorm included, like the paper's ResNets)."""
    from unlearnkit.scar.workflow import train_original

    path = tmp_path_factory.mktemp("scar") / "original.pt"
    train_original("digits", path, model="lenet5", epochs=12)
    return path

"""The device data path, run on the CPU so CI covers its logic (the CUDA tests repeat the key checks on a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DistributedSampler, TensorDataset
from unlearnkit.shared.data import (
    DatasetInfo,
    EpochShuffleSampler,
    LabeledDataset,
    TensorImages,
    load_dataset,
    make_loader,
)
from unlearnkit.shared.data.device_loader import (
    DEVICE_DATA_ENV,
    BatchAugment,
    DeviceLoader,
    crop_flip,
    device_loader_for,
    device_tensors,
)
from unlearnkit.shared.data.transforms import TensorTransform
from unlearnkit.shared.models import create_model
from unlearnkit.shared.train import TrainConfig, fit

INFO = DatasetInfo("ids", 10, 1, 4, (0.0,), (1.0,))


def id_images(n: int = 100) -> LabeledDataset:
    """Image ``i`` is filled with the value ``i``: a batch shows which samples it holds."""
    images = torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(n, 1, 4, 4).contiguous()
    targets = np.arange(n) % 10
    return LabeledDataset(TensorImages(images, targets), targets, INFO)


def loader_pairs(data, sampler_a, sampler_b, batch_size):
    got = device_tensors(data)
    assert got is not None
    images, targets, augment = got
    dev = DeviceLoader(images, targets, batch_size, sampler_a, augment=augment)
    ref = make_loader(data, batch_size, sampler=sampler_b)
    return dev, ref


@pytest.mark.parametrize("epoch", [0, 3])
def test_device_batches_hold_the_samplers_indices(epoch):
    data = id_images(100).subset(np.arange(5, 95))
    dev, ref = loader_pairs(data, EpochShuffleSampler(data, 7), EpochShuffleSampler(data, 7), 16)
    dev.sampler.set_epoch(epoch)
    ref.sampler.set_epoch(epoch)
    got, want = list(dev), list(ref)
    assert len(got) == len(want) == len(dev) == 6
    for (x, y), (rx, ry) in zip(got, want, strict=True):
        assert torch.equal(x, rx) and torch.equal(y, ry)
    assert [b.tolist() for b in dev.batch_indices()] == [b[0][:, 0, 0, 0].long().sub(5).tolist() for b in want]


def test_device_batches_follow_a_distributed_sampler():
    data = id_images(50)
    for rank in range(2):
        a = DistributedSampler(data, num_replicas=2, rank=rank, shuffle=True, seed=3)
        b = DistributedSampler(data, num_replicas=2, rank=rank, shuffle=True, seed=3)
        a.set_epoch(1)
        b.set_epoch(1)
        dev, ref = loader_pairs(data, a, b, 8)
        for (x, y), (rx, ry) in zip(dev, ref, strict=True):
            assert torch.equal(x, rx) and torch.equal(y, ry)


def reference_crop_flip(x, dy, dx, flip, pad):
    out = []
    for img, a, b, f in zip(x, dy.tolist(), dx.tolist(), flip.tolist(), strict=True):
        h, w = img.shape[-2:]
        p = F.pad(img, (pad, pad, pad, pad), value=float(img.min()))[..., a:a + h, b:b + w]
        out.append(p.flip(-1) if f else p)
    return torch.stack(out)


def test_batched_crop_and_flip_equal_the_per_sample_transform():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 3, 9, 7, generator=g)
    pad = 3
    dy = torch.randint(0, 2 * pad + 1, (12,), generator=g)
    dx = torch.randint(0, 2 * pad + 1, (12,), generator=g)
    flip = torch.rand(12, generator=g) < 0.5
    assert torch.equal(crop_flip(x, dy, dx, flip, pad), reference_crop_flip(x, dy, dx, flip, pad))
    assert torch.equal(crop_flip(x, torch.full((12,), pad), torch.full((12,), pad), torch.zeros(12, dtype=bool), pad),
                       x)


def test_augmentation_depends_only_on_seed_and_epoch():
    data = id_images(64)
    images = torch.randn(64, 1, 8, 8)
    targets = torch.as_tensor(data.targets)

    def batches(epoch):
        s = EpochShuffleSampler(data, 5)
        s.set_epoch(epoch)
        torch.manual_seed(epoch * 11 + 1)  # the global RNG must not matter
        return [x for x, _ in DeviceLoader(images, targets, 16, s, augment=BatchAugment(2, True))]

    a, b, c = batches(2), batches(2), batches(3)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not all(torch.equal(u, v) for u, v in zip(a, c, strict=True))


def test_tensor_transform_geometry_equals_the_per_sample_transform():
    t = TensorTransform(12, 3, augment=False)
    x = torch.randn(5, 1, 8, 8)
    assert torch.allclose(t.geometry(x), torch.stack([t(img) for img in x]))
    ds = TensorImages(x, np.zeros(5), TensorTransform(12, 3, augment=True, pad=2))
    images, augment = ds.device_tensors(np.array([4, 0]))
    assert images.shape == (2, 3, 12, 12) and augment == BatchAugment(2, False)


def test_device_path_is_off_on_cpu_and_for_non_tensor_data(monkeypatch):
    data = id_images(20)
    assert device_loader_for(data, 4, EpochShuffleSampler(data), "cpu") is None  # CPU keeps the DataLoader
    assert device_loader_for(data, 4, EpochShuffleSampler(data), "cpu", force=True) is not None
    plain = LabeledDataset(TensorDataset(torch.zeros(20, 1, 4, 4), torch.zeros(20)), np.zeros(20), INFO)
    assert device_loader_for(plain, 4, EpochShuffleSampler(plain), "cpu", force=True) is None
    monkeypatch.setenv(DEVICE_DATA_ENV, "0")
    assert device_loader_for(data, 4, EpochShuffleSampler(data), "cpu", force=True) is None


def test_fit_on_the_device_path_resumes_exactly_and_keeps_masks(tmp_path, monkeypatch):
    """``UNLEARNKIT_DEVICE_DATA=1`` puts fit on the device path on the CPU too: same guarantees."""
    monkeypatch.setenv(DEVICE_DATA_ENV, "1")
    data = load_dataset("digits", augment=True).subset(range(384))
    cfg = TrainConfig(epochs=3, batch_size=64, lr=0.05)
    torch.manual_seed(0)
    full = create_model("lenet5", 10, in_chans=1)
    init = {k: v.clone() for k, v in full.state_dict().items()}
    w, name = full.classifier.weight, "classifier.weight"
    mask = {name: (torch.rand_like(w) > 0.5).float()}
    before = w.detach().clone()
    hist = fit(full, data, cfg, grad_mask=mask, progress=False).history
    assert hist[-1]["loss"] < hist[0]["loss"]
    frozen = mask[name] == 0
    assert torch.equal(w.detach()[frozen], before[frozen]) and not torch.equal(w.detach(), before)

    killed = create_model("lenet5", 10, in_chans=1)
    killed.load_state_dict(init)
    ckpt = tmp_path / "run.pt"
    fit(killed, data, cfg, grad_mask=mask, checkpoint_path=ckpt, progress=False, on_epoch_end=lambda e, m: e == 0)
    resumed = create_model("lenet5", 10, in_chans=1)
    resumed.load_state_dict(init)  # the mask's frozen values are the initial ones, as in the full run
    result = fit(resumed, data, cfg, grad_mask=mask, checkpoint_path=ckpt, resume=True, progress=False)
    assert result.resumed_from == 1
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k

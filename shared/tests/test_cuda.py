"""CUDA-only checks (``pytest -m cuda``; skipped without a GPU, see the root conftest).

They run in ``tools/gpu_check.sh`` on a GPU node: bf16 training, the CUDA memory meter, NCCL DDP at world
size 1, a method on CUDA against the same method on the CPU, and the device data path's batch order.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from unlearnkit.shared.data import EpochShuffleSampler, ForgetRequest, load_dataset, make_loader, make_splits
from unlearnkit.shared.data.device_loader import DeviceLoader, device_loader_for, device_tensors
from unlearnkit.shared.methods import UnlearnContext, run_method
from unlearnkit.shared.metrics.rte import RTEMeter
from unlearnkit.shared.models import create_model
from unlearnkit.shared.train import TrainConfig, evaluate, fit

pytestmark = pytest.mark.cuda

CUDA = torch.device("cuda")


def test_bf16_training_lowers_the_loss_and_restores_the_layout():
    data = load_dataset("digits", augment=True)
    torch.manual_seed(0)
    model = create_model("lenet5", 10, in_chans=1)
    cfg = TrainConfig(epochs=4, batch_size=128, lr=0.05, amp=True)
    hist = fit(model, data, cfg, device=CUDA, progress=False).history
    losses = [h["loss"] for h in hist]
    assert all(np.isfinite(losses)) and losses[-1] < 0.6 * losses[0], losses
    assert all(p.dtype == torch.float32 and p.is_cuda for p in model.parameters())  # autocast, not a cast
    assert all(p.is_contiguous() for p in model.parameters())  # channels_last undone on return
    assert evaluate(model, load_dataset("digits", "test"), CUDA) > 80


def test_autocast_runs_matmuls_in_bf16():
    model = create_model("mlp", 10, in_chans=1).to(CUDA)
    x = torch.randn(8, 1, 32, 32, device=CUDA)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        assert model(x).dtype == torch.bfloat16


def test_cuda_peak_memory_is_measured_and_sane():
    torch.cuda.empty_cache()
    with RTEMeter(CUDA) as m:
        x = torch.empty(64 * 2**20 // 4, device=CUDA)  # 64 MiB
        del x
    assert m.peak_mem_mb >= 64 and 64 <= m.peak_mem_mb - m.start_mem_mb < 72, m.as_dict()
    assert m.seconds > 0


def test_device_loader_on_cuda_gives_the_cpu_samplers_batches():
    data = load_dataset("digits").subset(np.arange(10, 500))
    ref = make_loader(data, 64, sampler=EpochShuffleSampler(data, 4))
    loader = device_loader_for(data, 64, EpochShuffleSampler(data, 4), CUDA)
    assert isinstance(loader, DeviceLoader) and loader.images.is_cuda
    for epoch in (0, 5):
        ref.sampler.set_epoch(epoch)
        loader.sampler.set_epoch(epoch)
        batches = list(loader)
        assert len(batches) == len(ref)
        for (x, y), (rx, ry) in zip(batches, ref, strict=True):
            assert torch.equal(y.cpu(), ry) and torch.allclose(x.cpu(), rx)
    # augmentation draws on the GPU from (seed, epoch) alone
    images, targets, _ = device_tensors(data)
    from unlearnkit.shared.data.device_loader import BatchAugment

    def first(epoch):
        s = EpochShuffleSampler(data, 1)
        s.set_epoch(epoch)
        return next(iter(DeviceLoader(images.to(CUDA), targets.to(CUDA), 32, s, augment=BatchAugment(2, True))))[0]

    assert torch.equal(first(1), first(1)) and not torch.equal(first(1), first(2))


@pytest.fixture(scope="module")
def trained_digits():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    torch.manual_seed(0)
    model = create_model("mlp", 10, in_chans=1, hidden=64)
    cfg = TrainConfig(epochs=6, batch_size=64, lr=0.05, seed=0)
    fit(model, train, cfg, progress=False)
    request = ForgetRequest.for_classes(train, [3])
    return model.cpu(), make_splits(request, train, test), request, cfg


@pytest.mark.parametrize("name,overrides", [("ft", {"lr": 0.02, "epochs": 2}), ("salun", {})])
def test_a_method_on_cuda_matches_its_cpu_run(trained_digits, name, overrides):
    model, splits, request, cfg = trained_digits
    scores = {}
    for device in ("cpu", "cuda"):
        ctx = UnlearnContext.from_splits(splits, request, model, device=torch.device(device), progress=False,
                                         meta={"train_config": {**cfg.to_dict(), "epochs": 4}})
        out, rte = run_method(name, model, ctx, **overrides)
        scores[device] = [evaluate(out, d, device) for d in (splits.forget, splits.retain, splits.test)]
        if device == "cuda":
            assert rte["peak_mem_mb"] > 0 and rte["seconds"] > 0
    # bf16 autocast on CUDA, fp32 on the CPU, same batches: forget (150 images) may move a few images more
    for cpu, gpu, tol in zip(scores["cpu"], scores["cuda"], (8.0, 5.0, 5.0), strict=True):
        assert abs(cpu - gpu) <= tol, scores


DDP_WORKER = textwrap.dedent("""
    import json, sys
    import torch
    import torch.distributed as td
    from unlearnkit.shared import distributed as dist
    from unlearnkit.shared.data import load_dataset
    from unlearnkit.shared.models import create_model
    from unlearnkit.shared.train import TrainConfig, fit

    torch.cuda.set_device(0)
    td.init_process_group("nccl", init_method="env://")  # RANK=0, WORLD_SIZE=1 from the environment
    torch.manual_seed(0)
    model = create_model("lenet5", 10, in_chans=1)
    hist = fit(model, load_dataset("digits"), TrainConfig(epochs=3, batch_size=128, lr=0.05),
               device="cuda:0", progress=False).history
    out = {"backend": td.get_backend(), "world": dist.world_size(), "distributed": dist.is_distributed(),
           "losses": [h["loss"] for h in hist]}
    dist.cleanup()
    json.dump(out, open(sys.argv[1], "w"))
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_with_nccl_at_world_size_one_trains(tmp_path):
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "RANK": "0",
           "WORLD_SIZE": "1", "LOCAL_RANK": "0"}
    out = tmp_path / "ddp.json"
    proc = subprocess.run([sys.executable, "-c", DDP_WORKER, str(out)], env=env, timeout=240,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text())
    assert got["backend"] == "nccl" and got["world"] == 1 and got["distributed"]
    assert got["losses"][-1] < got["losses"][0]

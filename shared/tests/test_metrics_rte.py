"""RTEMeter: wall time and peak memory of a block."""

import time

import numpy as np
import pytest
import torch
from unlearnkit.shared.metrics import RTEMeter, measure_rte


def test_rte_time_and_memory():
    with RTEMeter("cpu") as m:
        time.sleep(0.05)
        block = np.ones(40 * 2**20 // 8)  # 40 MiB, touched
        del block
    assert m.seconds >= 0.05
    assert m.peak_mem_mb >= 30  # the high-water mark saw the array even though it is freed
    d = m.as_dict()
    assert d["seconds"] == m.seconds and d["mem_kind"] == "cpu_rss_peak_delta"
    with measure_rte() as m2:
        pass
    assert m2.seconds == pytest.approx(0, abs=0.05)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_rte_cuda_max_allocated():
    with RTEMeter("cuda") as m:
        x = torch.ones(64 * 2**20 // 4, device="cuda")  # 64 MiB
        del x
    assert m.peak_mem_mb >= 60 and m.as_dict()["mem_kind"] == "cuda_max_allocated"

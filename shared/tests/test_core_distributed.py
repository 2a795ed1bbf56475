import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

WORKER = Path(__file__).with_name("_ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_match_each_other_and_the_global_batch(tmp_path):
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2",
           "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(tmp_path)],
                              env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}) for r in range(2)]
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    single_env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    subprocess.run([sys.executable, str(WORKER), str(tmp_path)], env=single_env, check=True, timeout=240)

    r0 = torch.load(tmp_path / "rank0-of2.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1-of2.pt", weights_only=True)
    single = torch.load(tmp_path / "rank0-of1.pt", weights_only=True)
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"ranks disagree on {k}"
        # same global batches (64 = 2 x 32), gradients averaged: equal up to float summation order
        assert torch.allclose(r0[k], single[k], atol=1e-5), f"DDP differs from the global batch on {k}"

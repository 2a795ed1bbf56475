import importlib.util
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


def _single_process_run() -> dict:
    spec = importlib.util.spec_from_file_location("_ddp_worker", WORKER)
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return worker.train_once()
    finally:
        torch.set_num_threads(threads)


def test_two_gloo_ranks_match_each_other_and_the_global_batch(tmp_path):
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2",
           "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(tmp_path)],
                              env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}) for r in range(2)]
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    single = _single_process_run()

    r0 = torch.load(tmp_path / "rank0-of2.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1-of2.pt", weights_only=True)
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"ranks disagree on {k}"
        # same global batches (64 = 2 x 32), gradients averaged: equal up to float summation order
        assert torch.allclose(r0[k], single[k], atol=1e-5), f"DDP differs from the global batch on {k}"

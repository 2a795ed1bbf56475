"""Clusters sharded over 2 gloo processes: both ranks end with identical prompts and heads, equal to a
single-process run (training and erase)."""

import multiprocessing as mp
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
from unlearnkit.lmeraser import engine
from unlearnkit.lmeraser.sharding import assign_owners


def _worker(rank: int, world: int, store_path: str, out_dir: str, erase_ids: list[int]) -> None:
    from unlearnkit.lmeraser.testing import small_setup, train_small

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store_path}", rank=rank, world_size=world)
    try:
        setup = small_setup()
        state = train_small(setup)
        erased, record = engine.erase(state, np.asarray(erase_ids), setup[0], setup[1])
        torch.save({"trained": state.to_checkpoint(), "erased": erased.to_checkpoint(), "record": record},
                   os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _states_equal(a: dict, b: dict) -> bool:
    return all(
        ca["num_members"] == cb["num_members"] and all(torch.equal(ca["state"][k], cb["state"][k]) for k in ca["state"])
        for ca, cb in zip(a["clusters"], b["clusters"], strict=True)
    )


def test_owner_assignment_balances_and_is_deterministic():
    owners = assign_owners([0, 1, 2, 3, 4], [50, 10, 40, 5, 30], 2)
    assert owners == assign_owners([0, 1, 2, 3, 4], [50, 10, 40, 5, 30], 2)
    load = [sum(s for c, s in zip(range(5), [50, 10, 40, 5, 30], strict=True) if owners[c] == r) for r in range(2)]
    assert abs(load[0] - load[1]) <= 15


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable")
def test_two_gloo_ranks_match_each_other_and_one_process(tmp_path, setup, trained):
    erase_ids = [int(trained.partition.members[c][0]) for c in range(3) if len(trained.partition.members[c])]
    ctx = mp.get_context("fork")  # children reuse the imported modules: seconds instead of a re-import
    procs = [ctx.Process(target=_worker, args=(r, 2, str(tmp_path / "store"), str(tmp_path), erase_ids))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    assert _states_equal(r0["trained"], r1["trained"]) and _states_equal(r0["erased"], r1["erased"])
    assert _states_equal(r0["trained"], trained.to_checkpoint())
    single, _ = engine.erase(trained, np.asarray(erase_ids), setup[0], setup[1])
    assert _states_equal(r0["erased"], single.to_checkpoint())
    assert r0["record"]["affected_clusters"] == r1["record"]["affected_clusters"]

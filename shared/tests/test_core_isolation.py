"""run_isolated: a child's result, its one-line failure, its time limit (library functions as targets, so the
child needs no test module on its path)."""

import math
import os
import time

import pytest
from unlearnkit.shared.isolation import IsolatedError, IsolatedTimeout, run_isolated


def test_returns_the_value_and_the_runs_own_memory():
    res = run_isolated(math.sqrt, 16.0)
    assert res.value == 4.0 and res.seconds >= 0 and res.mem_kind == "cpu_rss_peak_delta"
    big = run_isolated(bytearray, 64 * 2**20)  # the child allocates 64 MiB
    assert len(big.value) == 64 * 2**20
    assert 60 < big.peak_mem_mb < 400  # the allocation, not the imported torch (hundreds of MiB)
    assert run_isolated(math.sqrt, 16.0).peak_mem_mb < 60  # a fresh child: earlier runs do not count


def test_a_failure_is_one_line():
    with pytest.raises(IsolatedError, match=r"^sqrt failed: ValueError: math domain error$"):
        run_isolated(math.sqrt, -1.0)
    with pytest.raises(IsolatedError, match="abort died: killed by SIGABRT"):
        run_isolated(os.abort)


def test_timeout_kills_the_child():
    with pytest.raises(IsolatedTimeout, match="ran past its 1 s limit"):
        run_isolated(time.sleep, 60, timeout=1)

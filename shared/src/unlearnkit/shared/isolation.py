"""Run one function in a child process: crash isolation, a time limit, and the run's own cost.

A benchmark that runs many methods in one process lets one segfault or runaway loop lose every result, and
its peak-memory figure is the whole process's. :func:`run_isolated` runs ``fn(*args, **kwargs)`` in a fresh
child and returns its value with the seconds and peak memory of that call alone::

    from unlearnkit.shared.isolation import run_isolated, IsolatedError

    res = run_isolated(my_module.train_one, cfg, timeout=600, device="cpu")
    res.value, res.seconds, res.peak_mem_mb

- ``fn`` must be a picklable top-level function (``module.function``), and its arguments and result picklable.
- Children start from a fork server that has already imported torch and the core (``forkserver`` where the
  platform has it, else ``spawn``): no state of the caller leaks in, and a child starts in milliseconds
  rather than re-importing torch. The child uses the caller's ``torch.get_num_threads()``.
- Peak memory, CPU: the child's resident-set high-water mark minus its resident set once ``fn`` and its
  arguments are loaded (Linux ``/proc``; elsewhere the process's ``ru_maxrss``, an upper bound). CUDA
  (``device`` names a CUDA device): ``torch.cuda.max_memory_allocated`` during the call.
- A failure in the child raises :class:`IsolatedError` with one line (``ValueError: ...``, or how the child
  died); running past ``timeout`` seconds kills the child and raises :class:`IsolatedTimeout`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import UnlearnkitError

__all__ = ["IsolatedError", "IsolatedResult", "IsolatedTimeout", "run_isolated"]

# What the fork server imports once, so that each child starts warm (torch._dynamo: the first optimiser
# of a process imports it, seconds without bytecode caches).
PRELOAD = ["torch", "torch._dynamo", "unlearnkit.shared.methods", "unlearnkit.shared.evaluation",
           "unlearnkit.shared.workflows"]


class IsolatedError(UnlearnkitError):
    """The child raised or died; the message is one line."""


class IsolatedTimeout(IsolatedError):
    """The child ran past its time limit and was killed."""


@dataclass
class IsolatedResult:
    value: Any
    seconds: float  # wall time of fn alone, in the child
    peak_mem_mb: float  # see the module docstring
    mem_kind: str  # "cpu_rss_peak_delta" or "cuda_max_allocated"
    cpu_seconds: float = float("nan")  # CPU time of fn in the child (all its threads): the cost on an idle machine


_context = None


def _mp_context():
    global _context
    if _context is None:
        if "forkserver" in mp.get_all_start_methods():
            _context = mp.get_context("forkserver")
            _context.set_forkserver_preload(PRELOAD)
        else:
            _context = mp.get_context("spawn")
    return _context


def run_isolated(fn: Callable, *args, timeout: float | None = None, device: Any = None,
                 **kwargs) -> IsolatedResult:
    """Run ``fn(*args, **kwargs)`` in a child process; see the module docstring."""
    import torch

    ctx = _mp_context()
    recv, send = ctx.Pipe(duplex=False)
    dev = str(device) if device is not None else None
    proc = ctx.Process(target=_child, args=(send, fn, args, kwargs, dev, torch.get_num_threads()))
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout):
            proc.kill()
            proc.join()
            raise IsolatedTimeout(f"{_name(fn)} ran past its {timeout:g} s limit and was stopped")
        try:
            status, payload = recv.recv()
        except (EOFError, OSError):
            proc.join()
            raise IsolatedError(f"{_name(fn)} died: {_exit_reason(proc.exitcode)}") from None
    finally:
        recv.close()
        if proc.is_alive():
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    if status == "error":
        raise IsolatedError(payload)
    return payload


def _name(fn) -> str:
    return getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(err).__name__}: {first}"[:300] if first else type(err).__name__


def _watch_parent(parent: int) -> None:
    """Exit when the process that started us is gone, so a killed caller leaves no orphan computing."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _child(conn, fn, args, kwargs, device, threads) -> None:
    import torch

    from .metrics.rte import _maxrss_kib, _proc_kib, _reset_hwm

    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    torch.set_num_threads(threads)
    cuda = device is not None and torch.device(device).type == "cuda"
    try:
        if cuda:
            dev = torch.device(device)
            if dev.index is not None:  # plain "cuda" means the current device; set_device needs an index
                torch.cuda.set_device(dev)
            torch.cuda.reset_peak_memory_stats()
        else:
            _reset_hwm()
            base_kib = _proc_kib("VmRSS") or _maxrss_kib()
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn(*args, **kwargs)
        if cuda:
            torch.cuda.synchronize()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if cuda:
            peak, kind = torch.cuda.max_memory_allocated() / 2**20, "cuda_max_allocated"
        else:
            peak_kib = _proc_kib("VmHWM") or _maxrss_kib()
            peak, kind = max(0.0, (peak_kib - base_kib) / 1024), "cpu_rss_peak_delta"
        conn.send(("ok", IsolatedResult(value, seconds, peak, kind, cpu)))
    except BaseException as err:  # report every failure as one line; the parent raises it
        try:
            conn.send(("error", f"{_name(fn)} failed: {_one_line(err)}"))
        except Exception:
            pass
    finally:
        conn.close()

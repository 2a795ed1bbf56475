"""RTE (run-time efficiency): wall seconds and peak memory of the unlearning step alone.

Wrap only the unlearning call, never the evaluation, so that methods are compared on their own cost::

    with RTEMeter(device) as m:
        model = method(model, ctx, params)
    m.seconds, m.peak_mem_mb

Peak memory:
- CUDA: ``torch.cuda.max_memory_allocated`` after resetting the peak counter on entry (tensors allocated
  by PyTorch on that device, model included; not the caching allocator's reserve, not other processes).
- CPU: the process's resident-set high-water mark (``VmHWM`` in /proc/self/status) minus the resident set
  on entry. On Linux the high-water mark is reset on entry by writing ``5`` to /proc/self/clear_refs; where
  that is not allowed (or on other systems, which fall back to ``ru_maxrss``) the mark is process-wide
  and may come from *before* the block, so the figure is then an upper bound (``rss_reset`` is False).
  RSS also counts every thread of the process, e.g. data loader threads, not just this method's tensors.
"""

from __future__ import annotations

import resource
import sys
import time

import torch

__all__ = ["RTEMeter", "Timer", "measure_rte"]

_PROC_STATUS = "/proc/self/status"


def _proc_kib(field: str) -> int | None:
    try:
        with open(_PROC_STATUS) as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _maxrss_kib() -> int:
    v = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return v // 1024 if sys.platform == "darwin" else v  # macOS reports bytes, Linux KiB


class RTEMeter:
    """Context manager: ``.seconds``, ``.peak_mem_mb`` (MiB), ``.as_dict()``."""

    def __init__(self, device="cpu"):
        self.device = torch.device(device)
        self.seconds: float = float("nan")
        self.peak_mem_mb: float = float("nan")
        self.start_mem_mb: float = float("nan")
        self.rss_reset: bool = False
        self._t0 = 0.0

    @property
    def _cuda(self) -> bool:
        return self.device.type == "cuda" and torch.cuda.is_available()

    def __enter__(self) -> RTEMeter:
        if self._cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start_mem_mb = torch.cuda.memory_allocated(self.device) / 2**20
        else:
            self.rss_reset = _reset_hwm()
            rss = _proc_kib("VmRSS")
            self.start_mem_mb = (rss if rss is not None else _maxrss_kib()) / 1024
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if self._cuda:
            torch.cuda.synchronize(self.device)
        self.seconds = time.perf_counter() - self._t0
        if self._cuda:
            self.peak_mem_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            hwm = _proc_kib("VmHWM")
            peak = (hwm if hwm is not None else _maxrss_kib()) / 1024
            self.peak_mem_mb = max(0.0, peak - self.start_mem_mb)

    def as_dict(self) -> dict:
        return {
            "seconds": self.seconds,
            "peak_mem_mb": self.peak_mem_mb,
            "mem_kind": "cuda_max_allocated" if self._cuda else "cpu_rss_peak_delta",
            "device": str(self.device),
        }


Timer = RTEMeter


def measure_rte(device="cpu") -> RTEMeter:
    """Alias kept for the name used in docs/core-api.md."""
    return RTEMeter(device)

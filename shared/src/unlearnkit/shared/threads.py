"""How many CPU threads torch may use, chosen on purpose rather than left to OpenMP.

torch's default (one thread per core) makes small models *slower* on a busy machine: its threads wait for
cores that another job holds, and a run took 6-14x its idle time next to one other PyTorch process. Small
models on the CPU gain little from more threads anyway, so they get one; the count is recorded with every
result because it changes the numbers (floating-point reduction order), and ``--threads`` overrides it.
"""

from __future__ import annotations

import os

# Models small enough that one thread is as fast as several on a CPU (and unaffected by other jobs).
SMALL_MODELS = frozenset({"lenet5", "mlp", "vit-tiny-test"})


def choose_threads(requested: int | None = None, device: str | None = "cpu", model: str | None = None) -> int:
    """``requested`` if given; 1 for small models on the CPU; else one per available core."""
    if requested is not None:
        if requested < 1:
            from .errors import UnlearnkitError

            raise UnlearnkitError(f"--threads must be at least 1, got {requested}")
        return requested
    if device in (None, "auto"):
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    on_cpu = str(device).startswith("cpu")
    if on_cpu and model in SMALL_MODELS:
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def apply_threads(n: int) -> int:
    """Set torch's intra-op thread count (process-wide) and return it."""
    import torch

    torch.set_num_threads(n)
    return n


def quiet_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning (a no-op once torch is imported; call it first)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def choose_jobs(requested: int | None, device: str, threads: int) -> int:
    """How many runs the bench keeps going at once: ``requested``, 1 on a GPU, else cores // threads.

    Runs are separate processes, so on an idle 2-core machine two one-thread runs take the time of one.
    """
    if requested is not None:
        if requested < 1:
            from .errors import UnlearnkitError

            raise UnlearnkitError(f"--jobs must be at least 1, got {requested}")
        return requested
    if not str(device).startswith("cpu"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, threads))

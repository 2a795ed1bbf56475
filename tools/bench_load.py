"""How much a busy machine slows unlearnkit down: wall time alone and next to another PyTorch job.

Runs `unlearnkit train` and `unlearnkit bench` (the default bench, or a reduced one with --reduced) each twice,
in fresh folders (nothing cached): once alone, once next to a subprocess that multiplies matrices with
torch's default threads (one per core). Prints each wall time and the ratio loaded/idle. A ratio near
(jobs sharing the cores) / (cores unlearnkit uses) is fair sharing; far above it means oversubscribed threads.

    uv run python tools/bench_load.py             # train + the default bench (several minutes)
    uv run python tools/bench_load.py --reduced   # train + a 1-seed, 3-method, class-request bench

"Alone" means alone as far as this script knows: run it on an idle machine for meaningful figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUSY = """
import torch
a = torch.randn(1024, 1024)
while True:
    a = torch.tanh(a @ a)
"""

REDUCED = ["--seeds", "1", "--methods", "rl,salun,scrub", "--request", "class:3"]


def _clean_env() -> dict:
    """The environment a user's shell would give: no thread limits inherited from a test runner."""
    return {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_clean_env())
    return time.perf_counter() - t0


def commands(work: Path, tag: str, reduced: bool) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "unlearnkit.shared.cli"]
    return {"unlearnkit train": cli + ["train", "--out", str(work / f"train-{tag}.pt"), "--overwrite"],
            "unlearnkit bench" + (" (reduced)" if reduced else ""):
                cli + ["bench", "--out", str(work / f"bench-{tag}")] + (REDUCED if reduced else [])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reduced", action="store_true", help="a 1-seed, 3-method, class-request bench")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        idle = {name: timed(cmd) for name, cmd in commands(work, "idle", args.reduced).items()}
        busy = subprocess.Popen([sys.executable, "-c", BUSY], env=_clean_env())
        try:
            time.sleep(3)  # let it reach its steady state
            loaded = {name: timed(cmd) for name, cmd in commands(work, "loaded", args.reduced).items()}
        finally:
            busy.kill()
            busy.wait()
    print(f"{'command':28s} {'alone (s)':>10s} {'loaded (s)':>11s} {'loaded/alone':>13s}")
    for name in idle:
        print(f"{name:28s} {idle[name]:10.1f} {loaded[name]:11.1f} {loaded[name] / idle[name]:12.2f}x")
    print(f"(one other PyTorch job with default threads; {os.cpu_count()} cores; load before start: "
          f"{load:.1f})")


if __name__ == "__main__":
    main()

"""Speed-up of every registered method over retraining on the digits bench (median of N runs).

    uv run python tools/bench_methods.py [--repeats 3] [--requests class:3 random:0.1] [--methods ft,rl]

The original model is trained once (cached in --work); retrain and each method run --repeats times on the
same request and their median wall-clock seconds are compared (methods at the bench's tuned presets).
Target: every approximate method >= 5x.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table
from unlearnkit.shared.bench import BenchConfig
from unlearnkit.shared.bench.runner import Bench
from unlearnkit.shared.methods import UnlearnContext, get_method, run_method
from unlearnkit.shared.workflows import splits_for, train_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--requests", nargs="+", default=["class:3", "random:0.1"])
    ap.add_argument("--methods", default=None, help="comma-separated (default: every registered method)")
    ap.add_argument("--model", default="lenet5")
    ap.add_argument("--work", default=None, help="cache folder (default: a temporary folder)")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="uk-bench-methods-"))
    cfg = BenchConfig(model=args.model, requests=tuple(args.requests), out_dir=str(work), progress=False,
                      methods=tuple(args.methods.split(",")) if args.methods else None, device="cpu")
    bench = Bench(cfg, log=lambda m: None)
    original, meta, _ = bench.original()
    console = Console()
    from unlearnkit.shared.bench.requests import parse_request

    for spec_text in args.requests:
        request = parse_request(spec_text, bench.data.train)
        splits = splits_for(request, bench.data)
        retrain_secs = []
        for i in range(args.repeats):
            _, rmeta, _ = train_model(bench.data, args.model, bench.train_cfg, work / f"retrain-{i}.pt",
                                      request=request, device="cpu", overwrite=True, progress=False)
            retrain_secs.append(rmeta["seconds"])
        ref = statistics.median(retrain_secs)
        table = Table(title=f"{request.describe()}: retrain median {ref:.2f}s over {args.repeats}")
        for col in ("method", "median s", "speed-up", "peak MB", ">= 5x"):
            table.add_column(col, justify="right" if col != "method" else "left")
        ctx = UnlearnContext.from_splits(splits, request, original, meta=meta, progress=False)
        for name in bench.method_names():
            spec = get_method(name)
            ok, why = spec.applicable(ctx)
            if not ok:
                table.add_row(name, "-", "-", "-", f"skipped: {why}")
                continue
            secs, mem = [], []
            for i in range(args.repeats):
                ctx.seed = i
                _, rte = run_method(name, original, ctx, params=spec.make_params(bench.params_for(name, request.kind)))
                secs.append(rte["seconds"])
                mem.append(rte.get("peak_mem_mb") or 0.0)
            med = statistics.median(secs)
            speed = ref / med if med > 0 else float("inf")
            table.add_row(name, f"{med:.3f}", f"{speed:.1f}x", f"{statistics.median(mem):.0f}",
                          "yes" if speed >= 5 else "NO")
        console.print(table)


if __name__ == "__main__":
    main()

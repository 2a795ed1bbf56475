"""The comparison bench: every registered method on the same forget requests, against one retrained model."""

from .cache import BenchLock, RunRecord
from .report import markdown, print_tables, write_outputs
from .requests import DEFAULT_REQUESTS, parse_request
from .runner import Bench, BenchConfig


def run_bench(cfg: BenchConfig, log=print) -> dict:
    """Run (or resume) a bench and write results.json / .csv / .md / .png into ``cfg.out_dir``."""
    bench = Bench(cfg, log=log)
    with BenchLock(cfg.out_dir):  # the outputs too, so two benches never interleave their files
        results = bench.run()
        write_outputs(results, cfg.out_dir)
    return results


__all__ = ["DEFAULT_REQUESTS", "Bench", "BenchConfig", "BenchLock", "RunRecord", "markdown", "parse_request", "print_tables",
           "run_bench", "write_outputs"]

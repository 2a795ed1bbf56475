"""The comparison bench: every registered method on the same forget requests, against one retrained model."""

from .report import markdown, print_tables, write_outputs
from .requests import DEFAULT_REQUESTS, parse_request
from .runner import Bench, BenchConfig, RunRecord


def run_bench(cfg: BenchConfig, log=print) -> dict:
    """Run (or resume) a bench and write results.json / .csv / .md / .png into ``cfg.out_dir``."""
    results = Bench(cfg, log=log).run()
    write_outputs(results, cfg.out_dir)
    return results


__all__ = ["DEFAULT_REQUESTS", "Bench", "BenchConfig", "RunRecord", "markdown", "parse_request", "print_tables",
           "run_bench", "write_outputs"]

"""The printed form of an experiment's results: one rich table, one row per model."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

COLUMNS = (
    ("forget_acc", "forget acc", "{:.2f}"),
    ("RA", "retain acc", "{:.2f}"),
    ("TA", "test acc", "{:.2f}"),
    ("MIA", "MIA", "{:.2f}"),
    ("avg_gap", "gap to retrain", "{:.2f}"),
    ("seconds", "time (s)", "{:.3f}"),
    ("peak_mem_mb", "peak mem (MiB)", "{:.1f}"),
    ("speedup_vs_retrain", "x faster", "{:.0f}"),
)


def _cell(row: dict, key: str, fmt: str) -> str:
    v = row.get(key)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return fmt.format(v)


def results_table(results: dict, title: str = "Prototype Surgery") -> Table:
    table = Table(title=title)
    table.add_column("model")
    for _, header, _ in COLUMNS:
        table.add_column(header, justify="right")
    for name, row in results["methods"].items():
        table.add_row(name, *(_cell(row, key, fmt) for key, _, fmt in COLUMNS))
    return table


def print_results(results: dict, console: Console | None = None) -> None:
    console = console or Console()
    n = results.get("num_forget")
    console.print(results_table(results, title=f"Prototype Surgery ({n} forget samples)"))

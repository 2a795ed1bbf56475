"""The printed form of an experiment's results: one rich table, one row per model."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

COLUMNS = (
    ("forget_acc", "forget%", "{:.1f}"),
    ("RA", "retain%", "{:.1f}"),
    ("TA", "test%", "{:.1f}"),
    ("MIA", "MIA", "{:.1f}"),
    ("avg_gap", "gap", "{:.2f}"),
    ("seconds", "sec", "{:.3g}"),
    ("peak_mem_mb", "MiB", "{:.0f}"),
    ("speedup_vs_retrain", "speedup", "{:.0f}x"),
)


def _cell(row: dict, key: str, fmt: str) -> str:
    v = row.get(key)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return fmt.format(v)


def results_table(results: dict, title: str = "Prototype Surgery") -> Table:
    table = Table(
        title=title, caption="gap: mean |UA, RA, TA, MIA - retrain|; MiB: peak memory of the unlearning"
    )
    table.add_column("model", no_wrap=True)
    for _, header, _ in COLUMNS:
        table.add_column(header, justify="right")
    for name, row in results["methods"].items():
        table.add_row(name, *(_cell(row, key, fmt) for key, _, fmt in COLUMNS))
    return table


def print_results(results: dict, console: Console | None = None) -> None:
    console = console or Console()
    n = results.get("num_forget")
    console.print(results_table(results, title=f"Prototype Surgery ({n} forget samples)"))

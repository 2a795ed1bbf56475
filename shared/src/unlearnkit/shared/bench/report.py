"""The bench's outputs: a rich table for people, JSON/CSV for machines, Markdown for READMEs, a PNG plot."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ..io import atomic_write_bytes, atomic_write_text, save_json

COLUMNS = ("UA", "RA", "TA", "MIA", "AvgGap", "RTE", "speedup")
HEADERS = {"ULiRA": "U-LiRA in%", "UA": "UA", "RA": "RA", "TA": "TA", "MIA": "MIA", "AvgGap": "Avg.Gap", "RTE": "RTE (s)",
           "speedup": "speed-up"}


def _fmt(stat: dict | None, key: str) -> str:
    if not stat or stat.get("mean") is None or math.isnan(stat["mean"]):
        return "-"
    mean, std = stat["mean"], stat.get("std", 0.0)
    text = f"{mean:.1f}x" if key == "speedup" else (f"{mean:.2f}" if key == "RTE" else f"{mean:.2f}")
    if std and not math.isnan(std) and std > 0:
        text += f" ±{std:.2f}"
    return text


def _cells(row: dict, columns=COLUMNS) -> list[str]:
    if row["status"] != "ok":
        return [row["status"] + (f": {row['note']}" if row["note"] else "")] + [""] * (len(columns) - 1)
    return [_fmt(row["metrics"].get(k), k) for k in columns]


def _columns(results: dict) -> tuple[str, ...]:
    """The ULiRA column only appears when the bench measured it."""
    has = any("ULiRA" in row.get("metrics", {}) for t in results["tables"] for row in t["rows"])
    return COLUMNS[:4] + ("ULiRA",) + COLUMNS[4:] if has else COLUMNS


def markdown(results: dict) -> str:
    lines = []
    cols = _columns(results)
    for table in results["tables"]:
        lines.append(f"### {table['description']}\n")
        lines.append("| method | " + " | ".join(HEADERS[c] for c in cols) + " |")
        lines.append("|---" * (len(cols) + 1) + "|")
        for row in table["rows"]:
            lines.append(f"| {row['method']} | " + " | ".join(_cells(row, cols)) + " |")
        lines.append("")
    return "\n".join(lines)


def print_tables(results: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    cols = _columns(results)
    for table in results["tables"]:
        t = Table(title=table["description"], title_justify="left")
        t.add_column("method", style="bold")
        for c in cols:
            t.add_column(HEADERS[c], justify="right")
        for row in table["rows"]:
            t.add_row(row["method"], *_cells(row, cols))
        console.print(t)


def write_csv(results: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = _columns(results)
    w.writerow(["request", "method", "status"] + [f"{c}_{s}" for c in cols for s in ("mean", "std")])
    for table in results["tables"]:
        for row in table["rows"]:
            vals = []
            for c in cols:
                st = row.get("metrics", {}).get(c) or {}
                vals += [st.get("mean", ""), st.get("std", "")]
            w.writerow([table["request"][:12], row["method"], row["status"]] + vals)
    return buf.getvalue()


def plot(results: dict) -> bytes:
    """Avg. Gap against speed-up over retrain, one point per method, one panel per request."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = results["tables"]
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4.2), squeeze=False)
    for ax, table in zip(axes[0], tables, strict=True):
        for row in table["rows"]:
            m = row.get("metrics", {})
            gap, speed = m.get("AvgGap", {}).get("mean"), m.get("speedup", {}).get("mean")
            if gap is None or speed is None or math.isnan(gap) or math.isnan(speed):
                continue
            ax.scatter(speed, gap)
            ax.annotate(row["method"], (speed, gap), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("speed-up over retrain (x, log)")
        ax.set_ylabel("Avg. Gap to retrain (lower is better)")
        ax.set_title(f"{table['kind']} request, {table['num_forget']} samples ({table['request'][:12]})", fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return buf.getvalue()


def write_outputs(results: dict, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    paths = {"json": out / "results.json", "csv": out / "results.csv", "md": out / "results.md",
             "png": out / "results.png"}
    save_json(paths["json"], results)
    atomic_write_text(paths["csv"], write_csv(results))
    atomic_write_text(paths["md"], markdown(results))
    atomic_write_bytes(paths["png"], plot(results))
    return paths

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


def _fmt(stat: dict | None, key: str, sep: str = "±", digits: int = 1) -> str:
    """``mean±std`` (std omitted when zero or from one seed); RTE keeps two decimals, speed-up gets an x."""
    if not stat or stat.get("mean") is None or math.isnan(stat["mean"]):
        return "-"
    mean, std = stat["mean"], stat.get("std")
    d = 2 if key == "RTE" else digits
    text = f"{mean:.{d}f}" + ("x" if key == "speedup" else "")
    if std is not None and not math.isnan(std) and std > 0:
        text += f"{sep}{std:.{d}f}"
    return text


def _cells(row: dict, columns=COLUMNS, sep: str = "±", digits: int = 1, notes: bool = False) -> list[str]:
    if row["status"] != "ok":
        first = row["status"] + (f": {row['note']}" if notes and row["note"] else "")
        return [first] + [""] * (len(columns) - 1)
    return [_fmt(row["metrics"].get(k), k, sep, digits) for k in columns]


def _columns(results: dict) -> tuple[str, ...]:
    """The ULiRA column only appears when the bench measured it."""
    has = any("ULiRA" in row.get("metrics", {}) for t in results["tables"] for row in t["rows"])
    return COLUMNS[:4] + ("ULiRA",) + COLUMNS[4:] if has else COLUMNS


def _seeds_note(results: dict) -> str:
    seeds = results.get("meta", {}).get("seeds") or []
    return f"mean ± std over {len(seeds)} seeds" if len(seeds) > 1 else "one seed"


def markdown(results: dict) -> str:
    lines = []
    cols = _columns(results)
    for table in results["tables"]:
        lines.append(f"### {table['description']}\n")
        lines.append(f"{_seeds_note(results)}; Avg. Gap against the same seed's retrain.\n")
        lines.append("| method | " + " | ".join(HEADERS[c] for c in cols) + " |")
        lines.append("|---" * (len(cols) + 1) + "|")
        for row in table["rows"]:
            lines.append(f"| {row['method']} | " + " | ".join(_cells(row, cols, " ± ", 2, notes=True)) + " |")
        lines.append("")
    return "\n".join(lines)


def _caption(table: dict) -> str:
    """Why rows are empty, one short line per reason, under the table rather than in a 100-column row."""
    by_note: dict[str, list[str]] = {}
    for row in table["rows"]:
        if row["status"] != "ok":
            note = row["note"] or row["status"]
            by_note.setdefault(f"{row['status']}: {note[:70]}", []).append(row["method"])
    return "\n".join(f"{', '.join(names)} {why}" for why, names in by_note.items())


def print_tables(results: dict, console=None) -> None:
    """Rich tables that fit 100 columns: one decimal, mean±std, skipped/failed reasons in the caption."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:  # a file or a pipe: rich would assume 80 columns and cut cells
            console = Console(width=100)
    cols = _columns(results)
    for table in results["tables"]:
        caption = "\n".join(filter(None, [_seeds_note(results), _caption(table)]))
        t = Table(title=table["description"], title_justify="left", caption=caption, caption_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        t.add_column("method", style="bold", no_wrap=True)
        for c in cols:
            t.add_column(HEADERS[c], justify="right", no_wrap=True)
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
    """Avg. Gap against speed-up over retrain, one marker per method (legend beside the panels, so labels
    never overlap), error bars for the std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    tables = results["tables"]
    names = sorted({r["method"] for t in tables for r in t["rows"]} - {"retrain", "original"})
    cmap = plt.get_cmap("tab20")
    style = {n: (cmap(i % 20), "osD^vP*Xh<>"[i % 11]) for i, n in enumerate(names)}
    fig, axes = plt.subplots(1, len(tables), figsize=(5 * len(tables) + 2.2, 4.4), squeeze=False)
    handles = {}
    for ax, table in zip(axes[0], tables, strict=True):
        for row in table["rows"]:
            m = row.get("metrics", {})
            gap, speed = m.get("AvgGap", {}), m.get("speedup", {})
            g, s = gap.get("mean"), speed.get("mean")
            if row["method"] not in style or g is None or s is None or math.isnan(g) or math.isnan(s):
                continue
            color, marker = style[row["method"]]
            h = ax.errorbar(s, g, xerr=_std(speed), yerr=_std(gap), fmt=marker, color=color, ms=7, capsize=2,
                            label=row["method"])
            handles[row["method"]] = h
        orig = next((r for r in table["rows"] if r["method"] == "original" and r["status"] == "ok"), None)
        if orig and not math.isnan(orig["metrics"]["AvgGap"]["mean"]):
            ax.set_ylim(top=max(ax.get_ylim()[1], 1.6 * orig["metrics"]["AvgGap"]["mean"]))
            handles["original (doing nothing)"] = ax.axhline(orig["metrics"]["AvgGap"]["mean"], color="grey",
                                                              ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)  # the original sits far above the methods
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 3.0)))
        ax.xaxis.set_minor_formatter(NullFormatter())  # no crowded 2x10^1, 3x10^1 ... labels
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("speed-up over retrain (log)")
        ax.set_ylabel("Avg. Gap to retrain (symlog, lower is better)")
        ax.set_title(f"{table['kind']} request, {table['num_forget']} samples", fontsize=10)
        ax.grid(alpha=0.3)
    fig.legend(list(handles.values()), list(handles), loc="center right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1 - 2.0 / fig.get_figwidth(), 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return buf.getvalue()


def _std(stat: dict) -> float | None:
    std = stat.get("std")
    return None if std is None or math.isnan(std) or std == 0 else std


def write_outputs(results: dict, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    paths = {"json": out / "results.json", "csv": out / "results.csv", "md": out / "results.md",
             "png": out / "results.png"}
    save_json(paths["json"], results)
    atomic_write_text(paths["csv"], write_csv(results))
    atomic_write_text(paths["md"], markdown(results))
    atomic_write_bytes(paths["png"], plot(results))
    return paths

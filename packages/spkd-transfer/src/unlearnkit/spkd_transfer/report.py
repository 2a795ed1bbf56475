"""Side-by-side tables of saved models: UA / RA / TA / MIA (the core's) with k-NN transfer and CKA.

The deliverable of the paper is a table, so the table is a first-class output: JSON for machines, Markdown
for READMEs, a PNG bar chart for slides, and a rich table on the terminal, all from one ``rows`` list.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from unlearnkit.shared.checkpoint import load_model
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.evaluation import evaluate_unlearning
from unlearnkit.shared.io import atomic_write_bytes, atomic_write_text, save_json
from unlearnkit.shared.outputs import plan_outputs

from .workflows import _context, read_report, transfer_metrics

__all__ = ["COLUMNS", "evaluate_models", "markdown_table", "rich_table", "bar_chart_png", "write_report"]

# (column, key in a row, digits)
# TA is the retained classes' test accuracy for class requests (SalUn's convention), else the whole test set.
# CKA is the mean over the downstream sets; CKA forget / retain are on the request's training splits.
COLUMNS = (("UA", "UA", 2), ("RA", "RA", 2), ("TA", "TA", 2), ("MIA", "MIA", 2), ("kNN", "kNN", 2),
           ("ΔkNN", "dkNN", 2), ("CKA", "CKA", 2), ("CKA forget", "CKA/forget", 2),
           ("CKA retain", "CKA/retain", 2), ("RTE s", "RTE", 1))
PLOT_KEYS = ("UA", "RA", "TA", "MIA", "kNN", "CKA")


def evaluate_models(models: Mapping[str, str | os.PathLike], reference: str | os.PathLike, request: str | os.PathLike,
                    downstream: Sequence[str] = (), *, feature_layer: str = "penultimate",
                    layers: str = "penultimate", knn_repeats: int = 1, data_root=None, device=None) -> list[dict]:
    """One row per model (the reference included, first if listed): metrics on the same request's splits,
    transfer to the same downstream sets, CKA to the same reference."""
    if not models:
        raise UnlearnkitError("no models to report on")
    ref_model, ctx, splits = _context(reference, request, data_root, False, device, 0)
    rows = []
    ref_knn = None
    for name, path in models.items():
        model, _ = load_model(path)
        m = evaluate_unlearning(model, splits, ctx.device)
        m.update(transfer_metrics(model, ref_model, downstream, splits=splits, feature_layer=feature_layer,
                                  layers=layers, knn_repeats=knn_repeats, data_root=data_root, device=ctx.device))
        rte = (read_report(path).get("rte") or {}).get("seconds")
        row = {"model": name, "path": str(path), **m, "TA_all": m.get("TA"), "RTE": rte}
        if "TA_retain" in m:
            row["TA"] = m["TA_retain"]
        if Path(path).resolve() == Path(reference).resolve():
            ref_knn = m["kNN"]
        rows.append(row)
    if ref_knn is None:
        ref_knn = transfer_metrics(ref_model, None, downstream, feature_layer=feature_layer, knn_repeats=knn_repeats,
                                   image_size=splits.forget.info.image_size, data_root=data_root,
                                   device=ctx.device)["kNN"]
    for row in rows:
        row["dkNN"] = row["kNN"] - ref_knn
    return rows


def _fmt(v, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{digits}f}"


def markdown_table(rows: Sequence[Mapping]) -> str:
    head = "| Model | " + " | ".join(c for c, _, _ in COLUMNS) + " |"
    sep = "|---|" + "|".join("---:" for _ in COLUMNS) + "|"
    body = ["| " + r["model"] + " | " + " | ".join(_fmt(r.get(k), d) for _, k, d in COLUMNS) + " |" for r in rows]
    return "\n".join([head, sep, *body]) + "\n"


def rich_table(rows: Sequence[Mapping], title: str = "SPKD transfer report") -> Table:
    t = Table(title=title)
    t.add_column("Model", no_wrap=True)
    for c, _, _ in COLUMNS:
        t.add_column(c, justify="right", no_wrap=True, min_width=6)
    for r in rows:
        t.add_row(r["model"], *(_fmt(r.get(k), d) for _, k, d in COLUMNS))
    return t


def bar_chart_png(rows: Sequence[Mapping], title: str = "") -> bytes:
    """Grouped bars, one group per metric, one bar per model (all metrics are percentages)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(PLOT_KEYS)) + 2, 3.6), dpi=120)
    width = 0.8 / max(1, len(rows))
    colours = plt.get_cmap("tab20").colors
    for i, r in enumerate(rows):
        vals = [r.get(k) if isinstance(r.get(k), (int, float)) and not math.isnan(r.get(k)) else 0.0
                for k in PLOT_KEYS]
        ax.bar([j + i * width for j in range(len(PLOT_KEYS))], vals, width, label=r["model"],
               color=colours[i % len(colours)])
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(PLOT_KEYS))], PLOT_KEYS)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def report_paths(out_dir: str | os.PathLike) -> dict[str, Path]:
    """The three files a report writes: plan them (``plan_outputs``) before evaluating anything."""
    return {k: Path(out_dir) / f"report.{k}" for k in ("json", "md", "png")}


def write_report(rows: Sequence[Mapping], out_dir: str | os.PathLike, *, overwrite: bool = False,
                 meta: Mapping | None = None, console: Console | None = None) -> dict[str, str]:
    """``report.json``, ``report.md`` and ``report.png`` in ``out_dir`` (refusing to replace them unless
    ``overwrite``); prints the rich table."""
    paths = report_paths(out_dir)
    plan_outputs({f"report.{k}": p for k, p in paths.items()}, overwrite=overwrite)
    save_json(paths["json"], {"rows": list(rows), "meta": dict(meta or {})})
    atomic_write_text(paths["md"], markdown_table(rows))
    atomic_write_bytes(paths["png"], bar_chart_png(rows, title=str((meta or {}).get("title", ""))))
    (console or Console(width=120)).print(rich_table(rows))
    return {k: str(p) for k, p in paths.items()}

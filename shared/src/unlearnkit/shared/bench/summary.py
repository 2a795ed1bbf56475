"""Turn per-run records into the bench's table: mean and std over seeds, Avg. Gap to retrain, speed-up."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from ..evaluation import METRIC_KEYS
from ..metrics import avg_gap

ORDER_FIRST = ("retrain", "original")


def _mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if arr.size == 0:
        return float("nan"), float("nan")
    return float(arr.mean()), float(arr.std(ddof=0))


def summarise(requests, records) -> dict:
    by_req: dict[str, list] = defaultdict(list)
    for rec in records:
        by_req[rec.request].append(rec)
    tables = []
    for request in requests:
        recs = by_req[request.checksum]
        reference = {r.seed: r.metrics for r in recs if r.method == "retrain" and r.status == "ok"}
        retrain_secs = {r.seed: r.rte.get("seconds") for r in recs if r.method == "retrain" and r.status == "ok"}
        rows: dict[str, dict] = {}
        for rec in recs:
            row = rows.setdefault(rec.method, {"method": rec.method, "status": rec.status, "note": rec.note,
                                               "_m": defaultdict(list)})
            if rec.status != "ok":
                row["status"], row["note"] = rec.status, rec.note
                continue
            m = row["_m"]
            for k, v in rec.metrics.items():
                m[k].append(v)
            secs = rec.rte.get("seconds", float("nan"))
            m["RTE"].append(secs)
            m["peak_mem_mb"].append(rec.rte.get("peak_mem_mb", float("nan")))
            if rec.seed in reference:
                m["AvgGap"].append(avg_gap(rec.metrics, reference[rec.seed], keys=METRIC_KEYS))
            ref_secs = retrain_secs.get(rec.seed)
            if rec.method != "original" and ref_secs and secs and secs > 0:
                m["speedup"].append(ref_secs / secs)
        out_rows = []
        order = [n for n in ORDER_FIRST if n in rows] + sorted(n for n in rows if n not in ORDER_FIRST)
        for name in order:
            row = rows[name]
            stats = {k: dict(zip(("mean", "std"), _mean_std(v), strict=True)) for k, v in row.pop("_m").items()}
            row["metrics"] = stats
            out_rows.append(row)
        tables.append({"request": request.checksum, "kind": request.kind, "description": request.describe(),
                       "num_forget": len(request.indices), "rows": out_rows})
    return {"tables": tables, "runs": [vars(r) for r in records]}

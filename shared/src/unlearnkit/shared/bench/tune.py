"""``unlearnkit tune``: fair default hyper-parameters per method and request kind, chosen WITHOUT a retrained
model.

Choosing a method's settings by their distance to the retrained model would leak the gold standard into the
comparison (and no user has a retrained model in practice). The rule reads only the original model, the
forget / retain sets and held-out test data:

- **class request**: among the grid points whose *held-out test accuracy on the forgotten classes*
  (``TA_forget``) is at chance or below (``<= 100 / num_classes``), choose the one with the highest retain
  accuracy (RA); ties go to the higher test accuracy on the other classes (``TA_retain``), then to the
  cheaper point (grids are listed cheapest first). A model that no longer recognises held-out images of a
  class has forgotten it, whatever it does on the forget set itself.
- **random (and subclass / indices) request**: among the points that keep RA within ``RA_SLACK`` points of
  the original's, choose the one whose forget-set accuracy is closest to its held-out test accuracy (a
  model that never saw the forget samples treats them like test samples); ties go to the higher RA, then
  the cheaper point.
- ``--seeds N`` evaluates every point with N seeds (each seed's own original) and applies the rule to the
  mean; a point that fails or diverges on any seed is out, so a knife-edge setting that only works on one
  seed is not chosen.
- When no point meets the rule, the closest one is chosen (class: lowest ``TA_forget``; random: highest RA)
  and ``meets_rule`` is False: the report says so, with the grid's numbers.

Each point is one isolated run (``isolation.run_isolated``), cached in the output folder like the bench's.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from ..errors import UnlearnkitError
from ..io import save_json
from ..isolation import IsolatedError
from ..methods import UnlearnContext, get_method
from ..threads import apply_threads
from ..versions import environment
from ..workflows import splits_for
from .cache import BenchLock, RunRecord, key_of, read_record, write_record
from .jobs import MethodJob, bench_metrics, run_method_job
from .presets import HERE as PRESETS_DIR
from .requests import DEFAULT_REQUESTS, parse_request

RA_SLACK = 2.0  # random requests: retain accuracy may drop at most this many points below the original's


@dataclass
class TuneConfig:
    data: str = "digits"
    model: str = "lenet5"
    requests: tuple[str, ...] | None = None  # one per kind; None: DEFAULT_REQUESTS
    methods: tuple[str, ...] | None = None
    seed: int = 0
    seeds: int = 1  # evaluate each point with seeds seed .. seed+seeds-1 and apply the rule to the mean
    device: str | None = None
    out_dir: str = "tune-out"
    data_root: str | None = None
    download: bool = False
    train: dict = field(default_factory=dict)
    grids: dict | None = None  # method -> {param: [values]} or {kind: {param: [values]}}; None: built-in
    threads: int | None = None
    timeout: float | None = None
    overwrite: bool = False  # allow a non-empty --out folder that no bench or tune made


def load_grid(path: str | Path | None = None) -> dict:
    """A grid file (method -> {param: [values]}), or the built-in ``presets/grids.json``."""
    path = Path(path) if path else PRESETS_DIR / "grids.json"
    try:
        grids = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UnlearnkitError(f"cannot read grid file {path}: {str(err).splitlines()[0]}") from None
    return {k: v for k, v in grids.items() if not k.startswith("_")}


def grid_points(grid: dict, kind: str) -> list[dict]:
    """The points of ``grid`` for ``kind`` requests, cheapest first (the order of the lists)."""
    if kind in grid and isinstance(grid[kind], dict):
        grid = grid[kind]
    grid = {k: v for k, v in grid.items() if k not in ("class", "random", "subclass", "indices")}
    if not grid:
        return [{}]
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]


def choose(rows: list[dict], kind: str, num_classes: int, original_ra: float) -> dict:
    """Apply the rule of the module docstring to evaluated grid points (dicts with UA/RA/TA/TA_forget/...).

    Returns ``{"index", "params", "meets_rule", "why"}``; rows keep their grid order (cheapest first).
    """
    ok = [(i, r) for i, r in enumerate(rows) if r.get("status", "ok") == "ok"]
    if not ok:
        return {"index": None, "params": {}, "meets_rule": False, "why": "every grid point failed"}
    if kind == "class":
        chance = 100.0 / num_classes
        good = [(i, r) for i, r in ok if r["TA_forget"] <= chance]
        if good:
            i, _ = min(good, key=lambda ir: (-ir[1]["RA"], -ir[1].get("TA_retain", 0.0), ir[0]))
            why = f"TA_forget <= {chance:.1f} (chance) with the highest RA"
            return {"index": i, "params": rows[i]["params"], "meets_rule": True, "why": why}
        i, _ = min(ok, key=lambda ir: (ir[1]["TA_forget"], -ir[1]["RA"], ir[0]))
        why = f"no point brings TA_forget to chance ({chance:.1f}); lowest TA_forget"
        return {"index": i, "params": rows[i]["params"], "meets_rule": False, "why": why}
    floor = original_ra - RA_SLACK
    good = [(i, r) for i, r in ok if r["RA"] >= floor]
    if good:
        i, _ = min(good, key=lambda ir: (round(abs((100.0 - ir[1]["UA"]) - ir[1]["TA"]), 6), -ir[1]["RA"], ir[0]))
        why = f"forget accuracy closest to test accuracy with RA >= {floor:.1f}"
        return {"index": i, "params": rows[i]["params"], "meets_rule": True, "why": why}
    i, _ = min(ok, key=lambda ir: (-ir[1]["RA"], ir[0]))
    why = f"no point keeps RA >= {floor:.1f}; highest RA"
    return {"index": i, "params": rows[i]["params"], "meets_rule": False, "why": why}


def tune_methods(cfg: TuneConfig, log=print) -> dict:
    """Run every grid point of every method on each request kind; write and return ``tune.json``."""
    from .runner import Bench, BenchConfig

    grids = cfg.grids if cfg.grids is not None else load_grid()
    bench = Bench(BenchConfig(data=cfg.data, model=cfg.model, methods=cfg.methods, seeds=1, seed=cfg.seed,
                              device=cfg.device, out_dir=cfg.out_dir, data_root=cfg.data_root,
                              download=cfg.download, train=cfg.train, presets=False, mia=False,
                              threads=cfg.threads, timeout=cfg.timeout, overwrite=cfg.overwrite), log=log)
    out = Path(cfg.out_dir)
    with BenchLock(out):
        apply_threads(bench.threads)
        names = bench.method_names()
        requests = [parse_request(s, bench.data.train, seed=cfg.seed) for s in (cfg.requests or DEFAULT_REQUESTS)]
        seeds = [cfg.seed + i for i in range(cfg.seeds)]
        originals = {sd: bench.original(sd) for sd in seeds}  # the only models tune ever trains or reads
        model, meta, _ = originals[cfg.seed]
        chosen: dict[str, dict] = {}
        table: dict[str, dict] = {}
        for request in requests:
            splits = splits_for(request, bench.data)
            original = _mean_row([{"params": {}, "status": "ok",
                                   **bench_metrics(originals[sd][0], splits, bench.device, sd, mia=False)}
                                  for sd in seeds])
            ctx = UnlearnContext.from_splits(splits, request, model, device=bench.device, seed=cfg.seed, meta=meta,
                                             progress=False)
            log(f"{request.describe()}: original RA {original['RA']:.2f}, TA {original['TA']:.2f}")
            todo = []  # (method, point index, cached row or None, job, path, key), one per seed
            for name in names:
                if get_method(name).applicable(ctx)[0]:
                    for i, p in enumerate(grid_points(grids.get(name, {}), request.kind)):
                        todo += [(name, i, *_point(bench, name, p, request, originals[sd][2], out, log, sd))
                                 for sd in seeds]
            missing = [t for t in todo if t[2] is None]
            rows = bench._parallel(run_method_job, [t[3] for t in missing],
                                   lambda j, res, m=missing: _finish(m[j][0], *m[j][3:], res, log),
                                   timeout=cfg.timeout)
            per_point: dict[str, dict[int, list]] = {}
            for name, i, row, *_ in todo:
                per_point.setdefault(name, {}).setdefault(i, []).append(row if row is not None else rows.pop(0))
            rows_by_method = {name: [_mean_row(seed_rows) for _, seed_rows in sorted(points.items())]
                              for name, points in per_point.items()}
            for name, rows in rows_by_method.items():
                choice = choose(rows, request.kind, ctx.num_classes, original["RA"])
                chosen.setdefault(name, {})[request.kind] = choice
                table.setdefault(name, {})[request.kind] = rows
                flag = "" if choice["meets_rule"] else " (rule not met)"
                log(f"  {name} {request.kind}: {choice['params']}{flag}")
        result = {"rule": __doc__, "ra_slack": RA_SLACK, "chosen": chosen, "grid": table,
                  "meta": {**environment(), "threads": bench.threads, "device": str(bench.device), "data": cfg.data,
                           "model": cfg.model, "seed": cfg.seed, "seeds": seeds, "train_config": bench.train_cfg.to_dict(),
                           "requests": {r.kind: r.describe() for r in requests}}}
        save_json(out / "tune.json", result)
    return result


def presets_from(result: dict, command: str = "") -> dict:
    """The ``bench/presets/<data>.json`` content for a tune result: method -> kind -> params."""
    methods = {m: {k: c["params"] for k, c in kinds.items()} for m, kinds in result["chosen"].items()}
    unmet = {m: [k for k, c in kinds.items() if not c["meets_rule"]] for m, kinds in result["chosen"].items()}
    return {"_about": f"chosen by `{command or 'unlearnkit tune'}` (rule: unlearnkit.shared.bench.tune); "
                      "no retrained model was read",
            "_rule_not_met": {m: k for m, k in unmet.items() if k}, "methods": methods}


def _mean_row(rows: list[dict]) -> dict:
    """One grid point over its seeds: the mean of each metric, or failed when any seed failed."""
    failed = [r for r in rows if r.get("status", "ok") != "ok"]
    if failed:
        return {**failed[0], "status": "failed", "failed_seeds": len(failed)}
    keys = [k for k in ("UA", "RA", "TA", "TA_forget", "TA_retain", "seconds") if all(r.get(k) is not None for r in rows)]
    out = {"params": rows[0]["params"], "status": "ok", **{k: sum(r[k] for r in rows) / len(rows) for k in keys}}
    if len(rows) > 1:
        out["per_seed"] = [{k: r[k] for k in keys} for r in rows]
    return out


def _point(bench, name: str, point: dict, request, orig_path: Path, out: Path, log, seed: int):
    """``(row, None, path, key)`` when the point is cached, else ``(None, job, path, key)``."""
    spec = get_method(name)
    params = spec.make_params(point)
    params_dict = asdict(params) if is_dataclass(params) else {}
    key = key_of({"tune": name, "params": params_dict, "req": request.checksum, "original": orig_path.name,
                  "seed": seed, **bench.env_key()})
    path = out / "runs" / request.short_id / f"{name}-{key}.json"
    rec = read_record(path, key, log)
    if rec is not None:
        return _row(rec, point, log), None, path, key
    job = MethodJob(method=name, params=point, seed=seed, data=bench.cfg.data, original=str(orig_path),
                    request=request, device=str(bench.device), data_root=bench.cfg.data_root, mia=False)
    return None, job, path, key


def _finish(name: str, job: MethodJob, path: Path, key: str, res, log) -> dict:
    if isinstance(res, IsolatedError):
        log(f"    {name} {job.params}: failed: {res}")
        return {"params": job.params, "status": "failed", "note": str(res)[:300]}
    rec = RunRecord(name, job.request.checksum, job.seed, res.value["metrics"], res.value["rte"], key=key,
                    params=job.params)
    write_record(path, rec)
    return _row(rec, job.params, log)


def _row(rec: RunRecord, point: dict, log) -> dict:
    m = rec.metrics
    row: dict[str, Any] = {"params": point, "status": "ok", "seconds": rec.rte.get("seconds"),
                           **{k: m[k] for k in ("UA", "RA", "TA", "TA_forget", "TA_retain") if k in m}}
    log(f"    {rec.method} {point}: UA {m['UA']:.1f} RA {m['RA']:.1f} TA {m['TA']:.1f}"
        + (f" TA_forget {m['TA_forget']:.1f}" if "TA_forget" in m else ""))
    return row

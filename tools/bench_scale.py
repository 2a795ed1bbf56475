"""How unlearning cost grows with the data: time and peak memory at two sizes, and the growth exponent.

Every registered method (the core's baselines and every installed package's, found through the
``unlearnkit.methods`` entry points exactly as ``unlearnkit bench`` finds them) is run on SYNTHETIC data
(``synthetic-cifar10``: CIFAR-10's shape, pixels drawn from a seed; no real data set, no download) at:

    (N small, forget 1%)  (N small, forget 10%)  (N large, forget 10%)

The forget axis (1% -> 10% at N small) and the data axis (N small -> N large at 10%) each give a growth
exponent, the log-log slope ``log(cost_b / cost_a) / log(size_b / size_a)``: 1 is linear, 0 is flat. The
size on the forget axis is the forget set's size; on the data axis it is N. A method whose time or memory
grows faster than the data it touches (exponent above 1.2) is flagged ``SUPERLINEAR``. Requests are random
where the method allows it; class-only methods use subclass / class requests of the same sizes.

Then the package components whose inputs grow independently of a method call:
  - LMEraser routing (``nearest_prototype``): N features to K prototypes of d dimensions, N grows;
  - LMEraser erase: erasing 1, 10, 100 private samples (digits, embedded backbone, one training shared by the
    three erases, each timed alone); the size is the number of samples retrained (the touched clusters');
  - SLUG's gradient pass (``compute_gradient``, tiny CLIP): n image-caption pairs, n grows.

Each measurement runs in its own child process (``unlearnkit.shared.isolation.run_isolated``); time and
memory are those of the measured call alone (``RTEMeter``: CPU resident-set high-water mark over the call,
after returning freed memory to the OS; CUDA allocator peak on a GPU). Every method runs ``--epochs`` epochs
(default 1) on a LeNet-5 trained one epoch on N large: the figures compare growth, not methods.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_scale.py                     # defaults: < 15 min, 2 cores
    .venv/bin/python tools/bench_scale.py --sizes 5000 50000 --model resnet20 --device cuda --json scale.json

Figures on a loaded machine are noisy; compare exponents, and rerun on an idle one for absolute seconds.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

FLAG = 1.2  # exponents above this are flagged where growth should be at most linear
TIME_FLOOR_S = 0.05  # below these, a cost is noise: exponents are computed on max(cost, floor)
MEM_FLOOR_MB = 4.0


# --- measured in children (top-level functions: run_isolated pickles them) -----------------------------


def _release_memory() -> None:
    """Return freed heap pages to the OS so the next call's resident-set peak is its own (glibc only)."""
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _synthetic_splits(data: str, n: int, kind: str, forget: float, seed: int):
    import numpy as np
    from unlearnkit.shared.data import ForgetRequest, load_dataset, make_splits

    train = load_dataset(data, "train").subset(np.arange(n))
    test = load_dataset(data, "test").subset(np.arange(min(len(load_dataset(data, "test")), max(100, n // 5))))
    if kind == "random":
        request = ForgetRequest.random(train, fraction=forget, seed=seed)
    elif kind == "subclass":  # forget a share of class 0 that is `forget` of the data
        share = min(1.0, forget * train.num_classes)
        request = ForgetRequest.subclass(train, 0, share)
    else:
        request = ForgetRequest.for_classes(train, [0])
    return make_splits(request, train, test), request


def measure_method(name: str, data: str, n: int, kind: str, forget: float, model_path: str, epochs: int,
                   device: str, seed: int) -> dict:
    import torch
    from unlearnkit.shared.checkpoint import load_model
    from unlearnkit.shared.methods import UnlearnContext, get_method, run_method

    splits, request = _synthetic_splits(data, n, kind, forget, seed)
    model, meta = load_model(model_path)
    spec = get_method(name)
    ctx = UnlearnContext.from_splits(splits, request, model, device=torch.device(device), seed=seed, meta=meta,
                                     progress=False)
    ok, why = spec.applicable(ctx)
    if not ok:
        return {"status": "skipped", "note": why}
    params = spec.make_params(epoch_overrides(spec, epochs))
    _warm_up(model, splits.retain, torch.device(device))
    _release_memory()
    c0 = time.process_time()
    _, rte = run_method(name, model, ctx, params=params)
    return {"status": "ok", "forget": len(splits.forget), "retain": len(splits.retain), **rte,
            "cpu_seconds": time.process_time() - c0}


def _warm_up(model, data, device) -> None:
    """Pay the process's one-time costs before measuring (lazy imports on the first optimiser step, kernel
    selection on the first convolution: ~10 s and ~200 MiB on CPU) so they are not charged to a method."""
    import copy

    import torch
    from torch.utils.data import DataLoader

    work = copy.deepcopy(model).to(device).train()
    x, y = next(iter(DataLoader(data, batch_size=8)))
    for opt in (torch.optim.SGD(work.parameters(), lr=1e-3, momentum=0.9), torch.optim.Adam(work.parameters())):
        loss = torch.nn.functional.cross_entropy(work(x.to(device)), y.to(device))
        loss.backward()
        opt.step()
        opt.zero_grad()
    with torch.no_grad():
        work.eval()(x.to(device))


def epoch_overrides(spec, epochs: int) -> dict:
    """Every method trains ``epochs`` epochs (iteration knobs that would exceed it are lowered too)."""
    if not dataclasses.is_dataclass(spec.params_cls):
        return {}
    fields = {f.name for f in dataclasses.fields(spec.params_cls)}
    out = {k: epochs for k in ("epochs", "min_epochs") if k in fields}
    return out


def measure_routing(n: int, k: int, d: int, seed: int) -> dict:
    import torch
    from unlearnkit.lmeraser.routing import nearest_prototype
    from unlearnkit.shared.metrics.rte import RTEMeter

    g = torch.Generator().manual_seed(seed)
    feats, protos = torch.randn(n, d, generator=g), torch.randn(k, d, generator=g)
    nearest_prototype(feats[:8], protos)  # warm the kernels
    _release_memory()
    c0 = time.process_time()
    with RTEMeter("cpu") as m:
        nearest_prototype(feats, protos)
    cpu = time.process_time() - c0
    times = [m.seconds]
    for _ in range(2):  # a sub-second call: the best of three is its cost, the rest is the machine's load
        t0 = time.perf_counter()
        nearest_prototype(feats, protos)
        times.append(time.perf_counter() - t0)
    return {"status": "ok", **m.as_dict(), "seconds": min(times), "all_seconds": times, "cpu_seconds": cpu}


def measure_erase(counts: list[int], clusters: int, data_dir: str, seed: int) -> list[dict]:
    """Train LMEraser once (digits, embedded backbone), then erase each count from that same state."""
    import numpy as np
    from unlearnkit.lmeraser import engine
    from unlearnkit.lmeraser.config import LMEraserConfig
    from unlearnkit.lmeraser.pipeline import prepare
    from unlearnkit.shared.metrics.rte import RTEMeter

    prep = prepare(dataset="digits", base_dir=data_dir, backbone="embedded", device="cpu")
    cfg = dataclasses.replace(LMEraserConfig(seed=seed), num_clusters=clusters, epochs=1, warmup_epochs=0)
    state = engine.train(cfg, prep.backbone, prep.store, prep.public_ids, prep.private_ids,
                         num_classes=prep.num_classes, image_size=prep.spec.image_size,
                         in_chans=prep.spec.in_chans, device="cpu")
    rng = np.random.RandomState(seed)
    rows = []
    for c in counts:
        ids = rng.choice(state.private_ids, size=min(c, len(state.private_ids)), replace=False)
        _release_memory()
        c0 = time.process_time()
        with RTEMeter("cpu") as m:
            _, rec = engine.erase(state, ids, prep.backbone, prep.store, device="cpu")
        rows.append({"status": "ok", "erased": int(c), "touched": len(rec["affected_clusters"]),
                     "retrained_samples": int(rec["retrained_samples"]), **m.as_dict(),
                     "cpu_seconds": time.process_time() - c0})
    return rows


def measure_slug_gradient(n: int, batch_size: int, seed: int) -> dict:
    os.environ.setdefault("SLUG_QUIET", "1")
    import torch
    from unlearnkit.shared.metrics.rte import RTEMeter
    from unlearnkit.slug.datasets import PairDataset, pair_loader
    from unlearnkit.slug.digits import caption_samples, load_digits_split
    from unlearnkit.slug.grads import compute_gradient
    from unlearnkit.slug.losses import clip_loss
    from unlearnkit.slug.models import tiny_clip

    torch.manual_seed(seed)
    bundle = tiny_clip(seed=seed)
    samples = caption_samples(load_digits_split("train"), seed=seed)
    samples = (samples * (n // len(samples) + 1))[:n]
    ds = PairDataset(samples, bundle.preprocess_val, bundle.tokenize)
    _release_memory()
    c0 = time.process_time()
    with RTEMeter("cpu") as m:
        compute_gradient(bundle.model, pair_loader(ds, batch_size), clip_loss)
    return {"status": "ok", **m.as_dict(), "cpu_seconds": time.process_time() - c0}


def train_original(data: str, n: int, model: str, device: str, out: str, seed: int) -> dict:
    import numpy as np
    from unlearnkit.shared.data import load_dataset
    from unlearnkit.shared.train import TrainConfig
    from unlearnkit.shared.workflows import DataBundle, train_model

    train = load_dataset(data, "train").subset(np.arange(n))
    test = load_dataset(data, "test").subset(np.arange(200))
    cfg = TrainConfig(epochs=1, batch_size=128, lr=0.05, seed=seed)
    _, meta, _ = train_model(DataBundle(train, test, train), model, cfg, out, overwrite=True, progress=False,
                             device=device)
    return {"test_acc": meta["test_acc"]}


# --- the parent: schedule, collect, print -----------------------------------------------------------


def exponent(a: float, b: float, size_a: float, size_b: float, floor: float) -> float:
    if not all(map(math.isfinite, (a, b))) or size_a <= 0 or size_b <= size_a:
        return float("nan")
    return math.log(max(b, floor) / max(a, floor)) / math.log(size_b / size_a)


def _fmt(x: float, spec: str = ".2f") -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def growth(name: str, points: list[dict], axes: list[tuple[str, int, int]]) -> dict:
    """Exponents of time and memory along each axis (pairs of point indices, the size key)."""
    out = {}
    for axis, i, j in axes:
        a, b = points[i], points[j]
        if a.get("status") != "ok" or b.get("status") != "ok":
            continue
        sa, sb = a["size"], b["size"]
        t = exponent(a["seconds"], b["seconds"], sa, sb, TIME_FLOOR_S)
        cpu = exponent(a.get("cpu_seconds", math.nan), b.get("cpu_seconds", math.nan), sa, sb, TIME_FLOOR_S)
        mem = exponent(a["peak_mem_mb"], b["peak_mem_mb"], sa, sb, MEM_FLOOR_MB)
        # On a loaded machine wall time is noisy; CPU time (this process's threads) is not. Time is flagged
        # when both grow superlinearly (or wall time alone where CPU time was not measured).
        slow = t > FLAG and not (math.isfinite(cpu) and cpu <= FLAG)
        out[axis] = {"size": [sa, sb], "time_exp": t, "cpu_exp": cpu, "mem_exp": mem,
                     "flags": [k for k, v in (("time", slow), ("memory", math.isfinite(mem) and mem > FLAG)) if v]}
    return out


def print_growth(label: str, g: dict, points: list[dict]) -> None:
    parts = []
    for axis, e in g.items():
        flag = (" SUPERLINEAR(" + ",".join(e["flags"]) + ")") if e["flags"] else ""
        parts.append(f"{axis} {e['size'][0]}->{e['size'][1]}: time^{_fmt(e['time_exp'])} "
                     f"(cpu^{_fmt(e['cpu_exp'])}) mem^{_fmt(e['mem_exp'])}{flag}")
    costs = " ".join(f"[{_fmt(p.get('seconds'))}s {_fmt(p.get('peak_mem_mb'), '.0f')}MiB]"
                     if p.get("status") == "ok" else f"[{p.get('status')}]" for p in points)
    print(f"{label:14s} {costs:48s} {'; '.join(parts) or _note(points)}", flush=True)


def _note(points: list[dict]) -> str:
    return next((p.get("note", "") for p in points if p.get("note")), "")


def run(fn, *args, timeout: float, device: str | None = None):
    from unlearnkit.shared.isolation import IsolatedError, run_isolated

    try:
        res = run_isolated(fn, *args, timeout=timeout, device=device)
    except IsolatedError as err:
        return {"status": "failed", "note": str(err)}, None
    return res.value, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="synthetic-cifar10", help="a synthetic-* data set (any registered name works)")
    ap.add_argument("--model", default="lenet5")
    ap.add_argument("--sizes", type=int, nargs=2, default=[2000, 20000], metavar=("SMALL", "LARGE"))
    ap.add_argument("--forget", type=float, nargs=2, default=[0.01, 0.10], metavar=("SMALL", "LARGE"))
    ap.add_argument("--epochs", type=int, default=1, help="epochs of every method")
    ap.add_argument("--methods", default=None, help="comma-separated (default: every registered method)")
    ap.add_argument("--route", type=int, nargs=2, default=[2000, 20000], metavar=("N1", "N2"),
                    help="LMEraser routing: samples routed (to --route-k prototypes of --route-d dims)")
    ap.add_argument("--route-k", type=int, default=194)
    ap.add_argument("--route-d", type=int, default=768)
    ap.add_argument("--erase", type=int, nargs="+", default=[1, 10, 100], help="LMEraser erase counts")
    ap.add_argument("--erase-clusters", type=int, default=16)
    ap.add_argument("--slug", type=int, nargs=2, default=[128, 1280], metavar=("N1", "N2"),
                    help="SLUG gradient pass: image-caption pairs")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: methods,routing,erase,slug")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per measurement")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from unlearnkit.shared.data import dataset_info
    from unlearnkit.shared.methods import discover_methods, get_method

    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    started = time.perf_counter()
    report: dict = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                    "flag_above": FLAG, "methods": {}, "components": {}}
    n1, n2 = args.sizes
    f1, f2 = args.forget
    print(f"bench_scale: {args.data} ({'SYNTHETIC' if args.data.startswith('synthetic') else 'real'} data), "
          f"{args.model}, N {n1} -> {n2}, forget {f1:.0%} -> {f2:.0%}, {args.epochs} epoch(s) per method, "
          f"device {args.device}, {args.threads} thread(s); exponents: log-log slope, flagged above {FLAG}")
    dataset_info(args.data)  # fail fast on an unknown name

    with tempfile.TemporaryDirectory() as tmp:
        if "methods" not in skip:
            names = args.methods.split(",") if args.methods else discover_methods()
            orig = str(Path(tmp) / "original.pt")
            value, res = run(train_original, args.data, n2, args.model, args.device, orig, args.seed,
                             timeout=max(args.timeout, 900), device=args.device)
            if value and "test_acc" in value:
                print(f"original: {args.model} trained 1 epoch on {n2} synthetic images "
                      f"({res.seconds:.1f} s, test accuracy {value['test_acc']:.1f}%)")
            else:
                sys.exit(f"training the original failed: {value}")
            print(f"\n{'method':14s} {'[s MiB] at (N1,f1) (N1,f2) (N2,f2)':48s} growth exponents")
            for name in names:
                spec = get_method(name)
                kind = next((k for k in ("random", "subclass", "class") if k in spec.kinds), spec.kinds[0])
                grid = [(n1, f1), (n1, f2), (n2, f2)]
                points = []
                for n, f in grid:
                    if kind == "class" and f != f2:
                        points.append({"status": "skipped", "note": "class requests only: no 1% point"})
                        continue
                    value, _ = run(measure_method, spec.name, args.data, n, kind, f, orig, args.epochs, args.device,
                                   args.seed, timeout=args.timeout, device=args.device)
                    points.append({"n": n, "forget_fraction": f, "kind": kind, **value})
                for p in points:
                    if p.get("status") == "ok":
                        p["size"] = p["n"]
                fpts = [dict(p, size=p.get("forget", 0)) for p in points]
                g = growth(name, fpts, [("forget", 0, 1)]) | growth(name, points, [("data", 1, 2)])
                report["methods"][name] = {"kind": kind, "points": points, "growth": g}
                print_growth(name, g, points)

        comps = report["components"]
        if "routing" not in skip:
            pts = []
            for n in args.route:
                value, _ = run(measure_routing, n, args.route_k, args.route_d, args.seed, timeout=args.timeout)
                pts.append({"size": n, **value})
            comps["lmeraser_routing"] = {"points": pts, "growth": growth("routing", pts, [("samples", 0, 1)])}
            print(f"\nLMEraser routing, {args.route_k} prototypes x {args.route_d} dims, samples {args.route}:")
            print_growth("routing", comps["lmeraser_routing"]["growth"], pts)
        if "erase" not in skip:
            value, _ = run(measure_erase, args.erase, args.erase_clusters, str(Path(tmp) / "lmeraser"), args.seed,
                           timeout=max(args.timeout, 600))
            pts = value if isinstance(value, list) else [value]
            for p in pts:  # what an erase touches: the samples of the clusters it retrains
                p["size"] = p.get("retrained_samples", 0)
            axes = [(f"retrained#{i + 1}", i, i + 1) for i in range(len(pts) - 1) if pts[i + 1]["size"] > pts[i]["size"]]
            comps["lmeraser_erase"] = {"points": pts, "growth": growth("erase", pts, axes)}
            print(f"\nLMEraser erase (digits, {args.erase_clusters} clusters), erased {args.erase}; "
                  f"clusters touched {[p.get('touched') for p in pts]}, samples retrained "
                  f"{[p.get('retrained_samples') for p in pts]}:")
            print_growth("erase", comps["lmeraser_erase"]["growth"], pts)
        if "slug" not in skip:
            pts = []
            for n in args.slug:
                value, _ = run(measure_slug_gradient, n, 16, args.seed, timeout=args.timeout)
                pts.append({"size": n, **value})
            comps["slug_gradient"] = {"points": pts, "growth": growth("slug", pts, [("pairs", 0, 1)])}
            print(f"\nSLUG gradient pass (tiny CLIP, batch 16), pairs {args.slug}:")
            print_growth("slug grads", comps["slug_gradient"]["growth"], pts)

    flagged = [f"{name}:{axis}:{','.join(e['flags'])}" for name, m in report["methods"].items()
               for axis, e in m["growth"].items() if e["flags"]]
    flagged += [f"{name}:{axis}:{','.join(e['flags'])}" for name, c in report["components"].items()
                for axis, e in c["growth"].items() if e["flags"]]
    report["flagged"] = flagged
    report["seconds"] = time.perf_counter() - started
    print(f"\nflagged (exponent > {FLAG}): {', '.join(flagged) or 'none'}; total {report['seconds']:.0f} s "
          f"(cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp_path.write_text(json.dumps(report, indent=2, default=str))
        os.replace(tmp_path, args.json)


if __name__ == "__main__":
    main()

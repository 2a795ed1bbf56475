"""Benchmark SLUG on the tiny offline Stable Diffusion and LLaVA models and print the figures.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_slug_families.py [--threads 1] [--repeat 3]

For each family: build the tiny random model and its data in a temp folder (not timed), then time the
gradient passes (forget + retain, identification loss), the layer scoring and the step search (every
Pareto layer, 10 trials each), best of --repeat runs, and print the search's outcome (chosen tensor,
forget/retain identification, feature drift and margin). Ratios between families measured in one process
are the meaningful numbers on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SLUG_QUIET", "1")

CASES = {"sd": "Emmy Noether", "llava": "Grace_Hopper"}  # the forget identities of the tests


def bench_family(family: str, work: Path, repeat: int) -> dict:
    from unlearnkit.slug.families import get_family
    from unlearnkit.slug.family_workflow import family_grads, family_layers
    from unlearnkit.slug.grads import load_gradients
    from unlearnkit.slug.layers import load_layers
    from unlearnkit.slug.probe import ProbeEvaluator
    from unlearnkit.slug.tiny_families import BUILDERS
    from unlearnkit.slug.unlearn import run_search

    checkpoint, data = BUILDERS[family](work)
    name = CASES[family]
    adapter = get_family(family).load_adapter(checkpoint)
    grads_s, search_s = [], []
    for i in range(repeat):
        g = work / f"g{i}"
        s = family_grads(adapter, name, data, g)
        grads_s.append(s["forget_seconds"] + s["retain_seconds"])
        family_layers(adapter, g, g)
        layers = load_layers(g / "layers.json")
        evaluator = ProbeEvaluator(adapter.embed, adapter.probe(name, data))
        t = time.perf_counter()
        outcome = run_search(adapter.module, load_gradients(g / "forget.safetensors"), layers, evaluator,
                             target="top1", threshold=0.0, max_iter=10, towers=sorted({x.tower for x in layers}))
        search_s.append(time.perf_counter() - t)
    n_pareto = sum(x.pareto for x in layers)
    after = outcome.chosen.final.extra
    return {"family": family, "forget": s["forget_samples"], "retain": s["retain_samples"],
            "params": sum(p.numel() for p in adapter.module.parameters()), "grads_s": min(grads_s),
            "search_s": min(search_s), "pareto": n_pareto, "layer": outcome.chosen.layer, **after}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [bench_family(f, Path(tmp) / f, args.repeat) for f in CASES]
    for r in rows:
        print(f"{r['family']:5s} model {r['params'] / 1e6:.2f} M params; gradient passes {r['grads_s']:.3f} s "
              f"({r['forget']} forget + {r['retain']} retain samples); search {r['search_s']:.3f} s "
              f"({r['pareto']} Pareto layers x 10 trials, {r['search_s'] / (10 * r['pareto']):.4f} s/trial)")
        print(f"{r['family']:5s} chose {r['layer']}: forget top-1 {r['forget_top1']:.1f}%, retain top-1 {r['utility_top1']:.1f}%, "
              f"drift forget {r['forget_drift']:.3f} / retain {r['retain_drift']:.3f} (margin {r['margin']:.3f})")
    sd, llava = rows
    print(f"llava / sd: gradient passes {llava['grads_s'] / sd['grads_s']:.2f}x, search {llava['search_s'] / sd['search_s']:.2f}x")


if __name__ == "__main__":
    main()

"""Benchmark SLUG's stages on the offline digits setting and print the figures.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_slug.py [--work-dir DIR] [--threads 1]

With --work-dir pointing at a `slug demo` work dir the trained demo CLIP is reused; otherwise a freshly
initialised tiny CLIP is timed (same shapes, so the same cost). Prints: gradient pass time (forget and
retain), search time (all Pareto layers, up to 10 iterations each), and the shard reader's images/s
(tar streaming + PNG decode + CLIP preprocessing).

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_slug.py --versus-gaft --work-dir slug-demo

runs the whole demo instead (SLUG, then GA+FT at lr 1e-4 to the same forget accuracy, in this one process)
and prints SLUG's time over GA+FT's with both models' accuracies. The demo trains the tiny CLIP once per
work dir (minutes); later runs reuse it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SLUG_QUIET", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work-dir", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--digit", default="seven")
    ap.add_argument("--versus-gaft", action="store_true", help="time the demo: SLUG against GA+FT at lr 1e-4")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    if args.versus_gaft:
        versus_gaft(args.work_dir or Path("slug-demo"), args.digit)
        return
    from unlearnkit.slug.datasets import PairDataset, ShardPairs, pair_loader
    from unlearnkit.slug.demo import DemoConfig, digit_eval_sets
    from unlearnkit.slug.digits import caption_samples, load_digits_split
    from unlearnkit.slug.grads import compute_gradient
    from unlearnkit.slug.layers import mark_pareto, score_layers
    from unlearnkit.slug.losses import clip_loss, forget_loss
    from unlearnkit.slug.models import load_clip_checkpoint, tiny_clip
    from unlearnkit.slug.shards import ShardWriter
    from unlearnkit.slug.unlearn import run_search
    from unlearnkit.slug.zeroshot import CachedEvaluator

    ck = args.work_dir / "tiny_clip.safetensors" if args.work_dir else None
    bundle = load_clip_checkpoint(ck) if ck and ck.is_file() else tiny_clip()
    print(f"model: {'demo checkpoint ' + str(ck) if ck and ck.is_file() else 'untrained tiny CLIP'}, "
          f"{sum(p.numel() for p in bundle.model.parameters()) / 1e6:.2f} M parameters, {args.threads} thread(s)")
    samples = caption_samples(load_digits_split("train"))
    with tempfile.TemporaryDirectory() as tmp:
        shard = Path(tmp) / "00000.tar"
        with ShardWriter(shard) as w:
            for s in samples:
                w.write(s)
        t0 = time.perf_counter()
        n = sum(1 for _ in ShardPairs([shard], bundle.preprocess_val, bundle.tokenize))
        dt = time.perf_counter() - t0
        print(f"shard reader: {n} images in {dt:.2f} s = {n / dt:.0f} images/s (decode + preprocess + tokenize)")

    cfg = DemoConfig(digit=args.digit)
    forget = [s for s in samples if cfg.digit in s.caption]
    retain = [s for s in samples if cfg.digit not in s.caption][: cfg.retain_grad_size]
    gf = compute_gradient(bundle.model, pair_loader(PairDataset(forget, bundle.preprocess_val, bundle.tokenize)),
                          forget_loss)
    gr = compute_gradient(bundle.model, pair_loader(PairDataset(retain, bundle.preprocess_train, bundle.tokenize)),
                          clip_loss)
    print(f"gradient pass: forget {gf.samples} images {gf.seconds:.2f} s, retain {gr.samples} images "
          f"{gr.seconds:.2f} s (batch 16)")
    scores = mark_pareto(score_layers(dict(bundle.model.named_parameters()), gf.grads, gr.grads))
    f_es, u_es, label = digit_eval_sets(bundle, cfg.digit)
    ev = CachedEvaluator(bundle.model, bundle.tokenize, f_es, u_es, label)
    out = run_search(bundle.model, gf.grads, scores, ev, target="top1", threshold=cfg.threshold)
    trials = sum(len(r.trials) for r in out.results)
    print(f"search: {len(out.results)} Pareto layers, {trials} trials in {out.seconds:.2f} s "
          f"({out.seconds / max(trials, 1):.3f} s/trial); chosen {out.chosen.layer if out.chosen else None}")


def versus_gaft(work_dir: Path, digit: str) -> None:
    from unlearnkit.slug.demo import DemoConfig, run_digits_demo

    r = run_digits_demo(work_dir, DemoConfig(digit=digit, baseline_lrs=(1e-4,)), log=lambda *_: None)
    slug, gaft, orig = r["slug"] or {}, r["ga_ft"][0], r["original"]
    print(f"original: forget top-1 {orig['forget_top1']:.1f}%, other digits {orig['utility_top1']:.1f}%")
    print(f"SLUG   {r['slug_seconds']:6.1f} s (gradients {r['grad_seconds']:.1f} s, search {r['search_seconds']:.1f} s)"
          f": forget {slug.get('forget_top1', float('nan')):.1f}%, other digits {slug.get('utility_top1', float('nan')):.1f}%")
    print(f"GA+FT  {gaft['seconds']:6.1f} s (lr 1e-4, {gaft['steps']} steps, reached={gaft['reached']}): "
          f"forget {gaft['forget_top1']:.1f}%, other digits {gaft['utility_top1']:.1f}%")
    print(f"SLUG / GA+FT time: {gaft['slug_over_gaft']:.2f} (one process; target <= 0.5)")


if __name__ == "__main__":
    main()

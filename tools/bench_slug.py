"""Benchmark SLUG's stages on the offline digits setting and print the figures.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_slug.py [--work-dir DIR] [--threads 1]

With --work-dir pointing at a `slug demo` work dir the trained demo CLIP is reused; otherwise a freshly
initialised tiny CLIP is timed (same shapes, so the same cost). Prints: gradient pass time (forget and
retain), search time (all Pareto layers, 10 iterations each), and the shard reader's images/s
(tar streaming + PNG decode + CLIP preprocessing).
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
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
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
    retain = [s for s in samples if cfg.digit not in s.caption][: cfg.retain_size]
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


if __name__ == "__main__":
    main()

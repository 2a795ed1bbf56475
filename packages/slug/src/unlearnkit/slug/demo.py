"""The embedded offline demo: train a tiny CLIP on captioned digits, make SLUG forget one digit's name,
and time it against the GA+FT baseline run until it reaches the same forget accuracy.

Every stage goes through the same library functions as the LAION workflow (shards -> create-forget ->
gradients -> layers -> search -> update), only the data and the model are small.
"""

from __future__ import annotations

import copy
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from ._core import UnlearnkitError, save_json
from .baselines import BaselineConfig, train_baseline
from .clip_train import ClipTrainConfig, train_clip_on_labels
from .datasets import PairDataset, pair_loader
from .digits import DIGIT_NAMES, TEMPLATES, caption_samples, load_digits_split
from .forget_set import caption_matches, create_forget_set
from .grads import compute_gradient, save_gradients
from .layers import mark_pareto, plot_layers, save_layers, score_layers
from .losses import clip_loss, forget_loss
from .models import ClipBundle, checkpoint_meta, load_clip_checkpoint, save_clip, tiny_clip
from .shards import ShardWriter, iter_shard
from .unlearn import apply_outcome, run_search
from .zeroshot import CachedEvaluator, EvalSet

# Identifies the digits data the cached model was trained on (the core's loader: its split and its 32x32
# upsampling). A model cached under another tag (v1: slug's own csv reader with PIL resizing) may have seen
# other pixels or other test images, so it is retrained, and the demo shards are rewritten every run.
SPLIT_TAG = "core-load-dataset-digits-v2"


@dataclass
class DemoConfig:
    digit: str = "seven"
    train_epochs: int = 30
    retain_size: int = 512
    # The retain gradient only ranks layers (its per-layer norm against the forget gradient's); a fixed
    # prefix of the (already shuffled) retain set ranks them with the same best layer at half the cost.
    retain_grad_size: int = 256
    # The search reads utility only to rank the layers' final steps: a fixed seeded subset of the utility
    # images does that; the chosen model is then evaluated on the full test set.
    search_utility_size: int = 96
    batch_size: int = 16
    threshold: float = 5.0  # forget top-1 accuracy (%) that counts as forgotten
    max_iter: int = 10
    towers: tuple[str, ...] = ("vision", "text")
    # GA+FT protocol (the paper's, with the learning rate swept because 1e-7 is tuned for ViT-B-32 at LAION
    # scale): AdamW, weight decay 0.1, batch 32, one epoch = max(forget, retain) batches, forget accuracy
    # checked at each epoch end (checks not counted in its time, but reported), stop at the SLUG target.
    baseline_lrs: tuple[float, ...] = (1e-4, 1e-5, 1e-6)
    baseline_batch_size: int = 32
    baseline_max_seconds: float = 240.0
    baseline_epochs: int = 50
    baseline_check_every: int = 0  # 0: at each epoch end
    run_baseline: bool = True
    seed: int = 0


def get_demo_model(work_dir: Path, cfg: DemoConfig) -> tuple[ClipBundle, dict]:
    """Train once per work dir (and training setting), then reuse the cached checkpoint."""
    path = work_dir / "tiny_clip.safetensors"
    want = {"epochs": cfg.train_epochs, "seed": cfg.seed, "split": SPLIT_TAG}
    if path.is_file():
        meta = checkpoint_meta(path)
        if {k: meta.get("train", {}).get(k) for k in want} == want:
            return load_clip_checkpoint(path), meta
    bundle = tiny_clip(seed=cfg.seed)
    info = train_clip_on_labels(bundle, load_digits_split("train"),
                                ClipTrainConfig(epochs=cfg.train_epochs, seed=cfg.seed))
    info["train"]["split"] = SPLIT_TAG
    save_clip(path, bundle, meta=info)
    return bundle, info


def write_demo_shards(work_dir: Path, cfg: DemoConfig) -> tuple[Path, Path]:
    """The demo's 'LAION': one shard of captioned training digits, and a retain shard of other digits."""
    shard = work_dir / "shards" / "00000.tar"
    retain = work_dir / "retain" / f"retain-{cfg.digit}.tar"
    # Rewritten every run (about a second): shards left by an older split must never be reused.
    samples = caption_samples(load_digits_split("train"), seed=cfg.seed)
    with ShardWriter(shard) as w:
        for s in samples:
            w.write(s)
    others = [s for s in samples if not caption_matches(s.caption, cfg.digit)]
    random.Random(cfg.seed).shuffle(others)
    with ShardWriter(retain) as w:
        for s in others[: cfg.retain_size]:
            w.write(s)
    return shard, retain


def digit_eval_sets(bundle: ClipBundle, digit: str) -> tuple[EvalSet, EvalSet, int]:
    """Forget set: test images of the digit; utility: test images of the other nine, all classified over
    the ten names with the caption templates."""
    test = load_digits_split("test")
    x = torch.stack([bundle.preprocess_val(im) for im in test.images])
    y = torch.as_tensor(test.labels)
    label = DIGIT_NAMES.index(digit)
    f, u = y == label, y != label
    return (EvalSet(TensorDataset(x[f], y[f]), DIGIT_NAMES, TEMPLATES),
            EvalSet(TensorDataset(x[u], y[u]), DIGIT_NAMES, TEMPLATES), label)


DEMO_MARKERS = ("tiny_clip.safetensors", "demo_results.json")


def check_work_dir(work_dir: Path, overwrite: bool = False) -> None:
    """The demo rewrites its own files in its work folder (shards, forget set, search log, results) and keeps
    its trained model as a cache, so it accepts a new or empty folder, or, with ``overwrite``, one an earlier
    demo run made; never a folder of the user's other files."""
    from unlearnkit.shared.outputs import plan_outputs

    if work_dir.exists() and work_dir.is_dir() and any(work_dir.iterdir()):
        if not any((work_dir / m).is_file() for m in DEMO_MARKERS):
            raise UnlearnkitError(f"--out {work_dir} is not empty and not a slug demo folder; choose a new folder")
        if not overwrite and (work_dir / "demo_results.json").exists():
            raise UnlearnkitError(f"--out {work_dir} holds an earlier demo run; pass --overwrite to run it again "
                                  "(its trained model is reused)")
    plan_outputs(folders={"--out": work_dir}, overwrite=True)  # a file, or an unwritable place, is refused


def fixed_subset(es: EvalSet, size: int, seed: int) -> EvalSet:
    """A seeded subset of ``size`` images of an evaluation set (the whole set when it is smaller)."""
    if size >= len(es.data):
        return es
    idx = sorted(random.Random(seed).sample(range(len(es.data)), size))
    return EvalSet(torch.utils.data.Subset(es.data, idx), es.class_names, es.templates)


def run_digits_demo(work_dir: str | Path, cfg: DemoConfig | None = None, log=print, overwrite: bool = True) -> dict:
    cfg = cfg or DemoConfig()
    if cfg.digit not in DIGIT_NAMES:
        raise UnlearnkitError(f"--digit must be one of {', '.join(DIGIT_NAMES)}")
    work_dir = Path(work_dir)
    check_work_dir(work_dir, overwrite)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    bundle, train_info = get_demo_model(work_dir, cfg)
    log(f"model ready ({time.perf_counter() - t0:.1f} s; training took {train_info.get('seconds', 0):.1f} s)")
    shard, retain_tar = write_demo_shards(work_dir, cfg)
    forget_tar = work_dir / "forget" / f"{cfg.digit}.tar"
    report = create_forget_set(cfg.digit, [shard], forget_tar, overwrite=True)
    log(f"forget set: {report.matched} of {report.scanned} captions mention {cfg.digit!r}")
    model, tok = bundle.model, bundle.tokenize
    forget_ds = PairDataset(list(iter_shard(forget_tar)), bundle.preprocess_val, tok)
    retain_ds = PairDataset(list(iter_shard(retain_tar)), bundle.preprocess_train, tok)

    f_es, u_es, label = digit_eval_sets(bundle, cfg.digit)
    evaluator = CachedEvaluator(model, tok, f_es, u_es, label)
    before = evaluator(None)
    log(f"original: forget top-1 {before['forget_top1']:.1f}%, other digits {before['utility_top1']:.1f}%")

    # --- SLUG: two gradient passes, layer scores, search, one update. Reseeded here so the retain pass's
    # random crops (preprocess_train) are the same whether the model was just trained or loaded from cache.
    torch.manual_seed(cfg.seed)
    gf = compute_gradient(model, pair_loader(forget_ds, cfg.batch_size), forget_loss, description="forget gradient")
    retain_grad_ds = PairDataset(retain_ds.samples[: cfg.retain_grad_size], bundle.preprocess_train, tok)
    gr = compute_gradient(model, pair_loader(retain_grad_ds, cfg.batch_size), clip_loss,
                          description="retain gradient")
    save_gradients(work_dir / "grads" / "forget.safetensors", gf, {"loss": "1-cos", "digit": cfg.digit})
    save_gradients(work_dir / "grads" / "retain.safetensors", gr, {"loss": "clip"})
    scores = mark_pareto(score_layers(dict(model.named_parameters()), gf.grads, gr.grads))
    save_layers(work_dir / "layers.json", scores)
    plot_layers(work_dir / "layers.png", scores, title=f"forget '{cfg.digit}'")
    log_path = work_dir / "search.jsonl"
    log_path.unlink(missing_ok=True)
    search_eval = CachedEvaluator(model, tok, f_es, fixed_subset(u_es, cfg.search_utility_size, cfg.seed), label)
    outcome = run_search(model, gf.grads, scores, search_eval, target="top1", threshold=cfg.threshold,
                         max_iter=cfg.max_iter, log_path=log_path, towers=cfg.towers)
    slug_seconds = gf.seconds + gr.seconds + outcome.seconds
    original_state = {k: v.clone() for k, v in model.state_dict().items()}
    result: dict = {"config": asdict(cfg), "original": before, "forget_set_size": report.matched,
                    "grad_seconds": gf.seconds + gr.seconds, "search_seconds": outcome.seconds,
                    "slug_seconds": slug_seconds, "pareto_layers": [s.name for s in scores if s.pareto],
                    "layers": [r.to_dict() | {"trials": len(r.trials)} for r in outcome.results]}
    if outcome.chosen is None:
        log("no Pareto layer reached the forget target")
        result["slug"] = None
    else:
        apply_outcome(model, gf.grads, outcome)
        after = evaluator(outcome.chosen.layer)
        save_clip(work_dir / "unlearned.safetensors", bundle, meta={"layer": outcome.chosen.layer,
                                                                  "step": outcome.chosen.high})
        result["slug"] = {"layer": outcome.chosen.layer, "step": outcome.chosen.high, **after}
        log(f"SLUG: {outcome.chosen.layer} step {outcome.chosen.high:.4g}: forget top-1 "
            f"{after['forget_top1']:.1f}%, other digits {after['utility_top1']:.1f}% "
            f"({slug_seconds:.1f} s: gradients {gf.seconds + gr.seconds:.1f} s, search {outcome.seconds:.1f} s)")
    model.load_state_dict(original_state)

    # --- GA+FT at each learning rate, run until it reaches the same forget accuracy (see DemoConfig)
    result["ga_ft"] = []
    for lr in cfg.baseline_lrs if cfg.run_baseline else ():
        base = copy.deepcopy(model)
        base_eval = CachedEvaluator(base, tok, f_es, u_es, label)
        check_seconds = [0.0]

        def stop(m, ev=base_eval, acc=check_seconds):
            t = time.perf_counter()
            r = ev.fresh()
            acc[0] += time.perf_counter() - t
            return {"stop": r["forget_top1"] <= cfg.threshold, **r}

        bs = cfg.baseline_batch_size
        bres = train_baseline("ga+ft", base, DataLoader(forget_ds, batch_size=bs, shuffle=True),
                              DataLoader(retain_ds, batch_size=bs, shuffle=True),
                              BaselineConfig(epochs=cfg.baseline_epochs, lr=lr, check_every=cfg.baseline_check_every,
                                             max_seconds=cfg.baseline_max_seconds, seed=cfg.seed), stop=stop)
        last = bres.history[-1] if bres.history else {}
        result["ga_ft"].append({"lr": lr, "batch_size": bs, "seconds": bres.seconds, "steps": bres.steps,
                                "epochs": len(bres.history), "check_seconds": check_seconds[0],
                                "reached": bres.stopped_early, "forget_top1": last.get("forget_top1"),
                                "utility_top1": last.get("utility_top1"), "history": bres.history,
                                "slug_over_gaft": slug_seconds / bres.seconds if bres.seconds else None})
        log(f"GA+FT lr {lr:g}: {'reached' if bres.stopped_early else 'did NOT reach'} forget <= {cfg.threshold}% "
            f"after {bres.steps} steps ({len(bres.history)} epoch checks), {bres.seconds:.1f} s "
            f"(+{check_seconds[0]:.1f} s checks); forget {last.get('forget_top1', float('nan')):.1f}%, "
            f"other digits {last.get('utility_top1', float('nan')):.1f}%; SLUG/GA+FT time "
            f"{slug_seconds / max(bres.seconds, 1e-9):.2f}")
    save_json(work_dir / "demo_results.json", result)
    return result

"""Library entry points behind each CLI command (the CLI only parses options and prints)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from unlearnkit.shared.outputs import plan_outputs

from ._core import UnlearnkitError, load_json, save_json
from .datasets import LabeledImages, PairDataset, ShardPairs, image_folder, pair_loader
from .grads import compute_gradient, load_gradients, save_gradients
from .layers import load_layers, mark_pareto, plot_layers, save_layers, score_layers
from .losses import clip_loss, forget_loss
from .models import ClipBundle, load_clip, save_clip
from .shards import ShardStats, expand_shards, read_samples
from .unlearn import apply_outcome, run_search
from .zeroshot import CachedEvaluator, EvalSet

FORGET_FILE, RETAIN_FILE = "forget.safetensors", "retain.safetensors"


def _inputs(**paths) -> dict:
    """Input roles for ``plan_outputs`` (lists of shard patterns become one role per file)."""
    out: dict = {}
    for role, p in paths.items():
        flag = "--" + role.replace("_", "-")
        if isinstance(p, (list, tuple)):
            out.update({f"{flag} {x}": x for x in p})
        elif p is not None:
            out[flag] = p
    return out


def _skipped(stats: ShardStats) -> dict:
    return {"skipped": stats.summary()} if stats.skipped() else {}


def check_grads_outputs(forget_tar, retain, out_dir, overwrite: bool = False, **inputs) -> tuple[list, list]:
    """``slug grads``'s shards (each pattern must match) and outputs, checked before the model is loaded."""
    fshards, rshards = expand_shards([forget_tar]), expand_shards(retain)
    out_dir = Path(out_dir)
    plan_outputs({f: out_dir / f for f in (FORGET_FILE, RETAIN_FILE, "grads_summary.json")},
                 inputs=_inputs(forget=fshards, retain=rshards, **inputs), overwrite=overwrite)
    return fshards, rshards


def check_layers_outputs(grads_dir, out_dir, overwrite: bool = False, **inputs) -> None:
    grads = [Path(grads_dir) / FORGET_FILE, Path(grads_dir) / RETAIN_FILE]
    for g in grads:
        if not g.is_file():
            raise UnlearnkitError(f"gradient file {g} not found (run `slug grads` first)")
    plan_outputs({f: Path(out_dir) / f for f in ("layers.json", "layers.png")}, inputs=_inputs(grads=grads, **inputs),
                 overwrite=overwrite)


def check_baseline_outputs(method: str, forget_tar, retain, out_model, grads_dir=None, overwrite: bool = False,
                           **inputs) -> list:
    from .baselines import ALL_BASELINES

    if method not in ALL_BASELINES:
        raise UnlearnkitError(f"unknown baseline {method!r}; choose from {', '.join(ALL_BASELINES)}")
    if method == "salun" and not grads_dir:
        raise UnlearnkitError("salun needs --grads-dir (its saliency mask is the forget gradient)")
    rshards = expand_shards(retain)
    grads = [Path(grads_dir) / FORGET_FILE] if grads_dir and method == "salun" else None
    plan_outputs({"--out": out_model}, inputs=_inputs(forget=expand_shards([forget_tar]), retain=rshards,
                                                      grads=grads, **inputs), overwrite=overwrite)
    return rshards


def compute_grads(bundle: ClipBundle, forget_tar: str | Path, retain: Sequence[str | Path], out_dir: str | Path,
                  *, batch_size: int = 16, retain_limit: int | None = None, device: str = "cpu",
                  overwrite: bool = False) -> dict:
    """Both gradient passes; under torchrun each rank reads its share and gradients are all-reduced."""
    from unlearnkit.shared import distributed as dist

    dist.init_distributed()
    out_dir = Path(out_dir)
    if batch_size < 1 or (retain_limit is not None and retain_limit < 1):
        raise UnlearnkitError("batch size and retain limit must be >= 1")
    fshards, rshards = check_grads_outputs(forget_tar, retain, out_dir, overwrite)
    rank, world = dist.rank(), dist.world_size()
    stats = ShardStats()
    fset = ShardPairs(fshards, bundle.preprocess_val, bundle.tokenize, rank=rank, world=world, stats=stats)
    rset = ShardPairs(rshards, bundle.preprocess_train, bundle.tokenize, limit=retain_limit,
                      rank=rank, world=world, stats=stats)
    gf = compute_gradient(bundle.model, pair_loader(fset, batch_size), forget_loss, device, "forget gradient")
    gr = compute_gradient(bundle.model, pair_loader(rset, batch_size), clip_loss, device, "retain gradient")
    summary = {"forget_samples": gf.samples, "retain_samples": gr.samples, "forget_seconds": gf.seconds,
               "retain_seconds": gr.seconds, "world_size": world, **_skipped(stats)}
    if dist.is_main():
        meta = {"model": bundle.name, "forget": str(forget_tar), "retain": [str(r) for r in retain]}
        save_gradients(out_dir / FORGET_FILE, gf, {**meta, "loss": "1-cos"})
        save_gradients(out_dir / RETAIN_FILE, gr, {**meta, "loss": "clip"})
        save_json(out_dir / "grads_summary.json", summary)
    dist.barrier()
    return summary


def select_layers(bundle: ClipBundle, grads_dir: str | Path, out_dir: str | Path, *, include_norm: bool = False,
                  overwrite: bool = False) -> list:
    out_dir = Path(out_dir)
    check_layers_outputs(grads_dir, out_dir, overwrite)
    gf, gr = load_gradients(Path(grads_dir) / FORGET_FILE), load_gradients(Path(grads_dir) / RETAIN_FILE)
    scores = mark_pareto(score_layers(dict(bundle.model.named_parameters()), gf, gr, exclude_norm=not include_norm))
    save_layers(out_dir / "layers.json", scores)
    plot_layers(out_dir / "layers.png", scores)
    return scores


def read_names(names_file: str | Path | None, name: str) -> tuple[list[str], int]:
    """The zero-shot label set for forget accuracy: the names list (one per line) with ``name`` in it."""
    names: list[str] = []
    if names_file is not None:
        p = Path(names_file)
        if not p.is_file():
            raise UnlearnkitError(f"names file {p} not found")
        names = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    folded = [n.casefold() for n in names]
    if name.casefold() not in folded:
        names.append(name)
        folded.append(name.casefold())
    if len(names) < 2:
        raise UnlearnkitError("forget accuracy needs a names list with other names (--names-file)")
    return names, folded.index(name.casefold())


class _ImagesAsLabel(torch.utils.data.Dataset):
    """Forget-set images (from a tar) all labelled with the forget identity's index."""

    def __init__(self, tar: str | Path, preprocess, label: int, stats: ShardStats | None = None):
        self.samples = read_samples(tar, stats)
        if not self.samples:
            raise UnlearnkitError(f"no readable image in {tar}")
        self.preprocess, self.label = preprocess, label

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.preprocess(self.samples[i].pil()), self.label


def build_evaluator(bundle: ClipBundle, name: str, forget_images: str | Path, *, names_file=None,
                    utility_folder=None, utility_fraction: float = 0.05, name_template: str = "{}.",
                    seed: int = 0, device: str = "cpu") -> CachedEvaluator:
    """Forget accuracy over the names list; utility = ImageNet-style zero-shot accuracy on a fixed
    seeded fraction of ``utility_folder`` (the paper searches on 5% of ImageNet val)."""
    names, label = read_names(names_file, name)
    forget = EvalSet(_ImagesAsLabel(forget_images, bundle.preprocess_val, label), names, (name_template,))
    if utility_folder is not None:
        from open_clip.zero_shot_metadata import SIMPLE_IMAGENET_TEMPLATES

        full: LabeledImages = image_folder(utility_folder, bundle.preprocess_val)
        k = max(1, int(round(utility_fraction * len(full))))
        idx = sorted(random.Random(seed).sample(range(len(full)), k))
        templates = [t("{}") for t in SIMPLE_IMAGENET_TEMPLATES]
        utility = EvalSet(full.subset(idx), full.class_names, templates)
    else:  # no utility data: the other names' prompts still have to stay apart -> forget set only
        utility = EvalSet(torch.utils.data.TensorDataset(torch.zeros(0, 3, 1, 1), torch.zeros(0)), names)
    return CachedEvaluator(bundle.model, bundle.tokenize, forget, utility, label, device)


def unlearn(bundle: ClipBundle, grads_dir: str | Path, layers_json: str | Path, evaluator: CachedEvaluator,
            out_model: str | Path, log_path: str | Path, *, target: str = "top5", threshold: float = 0.0,
            max_iter: int = 10, towers: Sequence[str] = ("vision", "text"), overwrite: bool = False) -> dict:
    """Search, apply and save. Writes ``out_model``, its ``.json`` summary and the trial log (all checked
    before the search); the log is written to a temporary name and moved into place at the end."""
    check_unlearn_outputs(out_model, log_path, grads_dir, layers_json, overwrite)
    gf = load_gradients(Path(grads_dir) / FORGET_FILE)
    layers = load_layers(layers_json)
    before = evaluator(None)
    tmp_log = Path(log_path).with_name(f".{Path(log_path).name}.partial")
    tmp_log.unlink(missing_ok=True)  # our own temporary file from a killed run
    outcome = run_search(bundle.model, gf, layers, evaluator, target=target, threshold=threshold,
                         max_iter=max_iter, log_path=tmp_log, towers=towers)
    apply_outcome(bundle.model, gf, outcome)
    after = evaluator(outcome.chosen.layer)
    summary = {"layer": outcome.chosen.layer, "step": outcome.chosen.high, "search_seconds": outcome.seconds,
               "before": before, "after": after, "searched": [r.to_dict() for r in outcome.results]}
    save_clip(out_model, bundle, meta={k: summary[k] for k in ("layer", "step")})
    save_json(Path(out_model).with_suffix(".json"), summary)
    if tmp_log.exists():
        import os

        os.replace(tmp_log, log_path)
    return summary


def check_unlearn_outputs(out_model, log_path, grads_dir, layers_json, overwrite: bool = False, **inputs) -> None:
    """The unlearn command's outputs (model, its ``.json`` summary, the search log) against its inputs; the
    gradient file and the layer list must exist and parse (before a model is loaded)."""
    grads = Path(grads_dir) / FORGET_FILE
    if not grads.is_file():
        raise UnlearnkitError(f"gradient file {grads} not found (run `slug grads` first)")
    load_layers(layers_json)
    for role, p in inputs.items():
        if p is not None and not Path(p).exists():
            raise UnlearnkitError(f"--{role.replace('_', '-')} {p} not found")
    plan_outputs({"--out": out_model, "summary": Path(out_model).with_suffix(".json"), "--log": log_path},
                 inputs=_inputs(grads=[Path(grads_dir) / FORGET_FILE], layers=layers_json, **inputs),
                 overwrite=overwrite)


def evaluate(bundle: ClipBundle, evaluator: CachedEvaluator, *, forget_tar=None, heldout=None,
             batch_size: int = 16, device: str = "cpu") -> dict:
    """Forget accuracy, utility and (with a held-out shard) the MIA accuracy."""
    from .mia import mia_accuracy, pair_features

    out = evaluator.fresh()
    if forget_tar is not None and heldout is not None:
        stats = ShardStats()
        fset = PairDataset(read_samples(forget_tar, stats), bundle.preprocess_val, bundle.tokenize)
        hset = ShardPairs(expand_shards([heldout]), bundle.preprocess_val, bundle.tokenize, stats=stats)
        out["mia"] = mia_accuracy(pair_features(bundle.model, DataLoader(fset, batch_size=batch_size), device),
                                  pair_features(bundle.model, DataLoader(hset, batch_size=batch_size), device))
        out.update(_skipped(stats))
    return out


def run_baseline(bundle: ClipBundle, method: str, forget_tar, retain, out_model, *, grads_dir=None, epochs=10,
                 lr=1e-7, batch_size=32, device="cpu", overwrite=False, params=None) -> dict:
    """A comparison baseline; ``params`` (a ``BaselineConfig``) wins over ``epochs``/``lr``."""
    from .baselines import BaselineConfig, squared_gradients, ssd, train_baseline

    rshards = check_baseline_outputs(method, forget_tar, retain, out_model, grads_dir, overwrite)
    cfg = params if params is not None else BaselineConfig(epochs=epochs, lr=lr)
    stats = ShardStats()
    fset = PairDataset(read_samples(forget_tar, stats), bundle.preprocess_val, bundle.tokenize)
    rset = PairDataset(read_samples(rshards, stats), bundle.preprocess_train, bundle.tokenize)
    if not len(fset) or not len(rset):
        raise UnlearnkitError(f"no readable forget or retain samples ({stats.summary() or 'empty shards'})")
    floader = DataLoader(fset, batch_size=batch_size, shuffle=True)
    rloader = DataLoader(rset, batch_size=batch_size, shuffle=True)
    if method == "ssd":
        res = ssd(bundle.model, squared_gradients(bundle.model, floader, forget_loss, device),
                  squared_gradients(bundle.model, rloader, clip_loss, device), cfg)
    else:
        g = load_gradients(Path(grads_dir) / FORGET_FILE) if method == "salun" and grads_dir else None
        if method == "salun" and g is None:
            raise UnlearnkitError("salun needs --grads-dir (its saliency mask is the forget gradient)")
        res = train_baseline(method, bundle.model, floader, rloader, cfg, g_forget=g, device=device)
    save_clip(out_model, bundle, meta={"baseline": method, "seconds": res.seconds})
    return {"method": method, "seconds": res.seconds, "steps": res.steps, **_skipped(stats)}


__all__ = ["compute_grads", "select_layers", "build_evaluator", "unlearn", "evaluate", "run_baseline", "load_json",
           "load_clip"]

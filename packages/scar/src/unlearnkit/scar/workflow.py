"""The published workflow as library functions; each CLI command is a thin wrapper over one of them.

train-original -> sample-forget (HR) -> train-oracle -> surrogate -> unlearn. Every function takes paths
and plain values, checks every path it will write before any work (``unlearnkit.shared.outputs.plan_outputs``:
no output equal to an input, no existing file without ``overwrite=True``), writes its files atomically and
returns a summary dict.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from pathlib import Path

from unlearnkit.shared.checkpoint import check_same_request, save_model
from unlearnkit.shared.data import ForgetRequest
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import save_json
from unlearnkit.shared.methods import UnlearnContext
from unlearnkit.shared.outputs import plan_outputs
from unlearnkit.shared.registry import Registry
from unlearnkit.shared.train import TrainConfig, seed_everything
from unlearnkit.shared.workflows import (
    default_config,
    load_checkpoint_for,
    load_data,
    plan_training,
    resolve_device,
    splits_for,
    train_model,
)

from .algorithm import scar, scar_self
from .evaluation import reference_accuracy, scar_report
from .methods import context_surrogate
from .params import HR_THRESHOLDS, ScarParams
from .presets import apply_preset
from .stopping import cr_target, hr_target

__all__ = ["RECIPES", "recipe", "train_original", "sample_forget", "train_oracle", "make_request", "unlearn",
           "HR_COUNTS"]

# The paper's original-model recipe (ResNet-18): SGD 0.1, wd 5e-5, label smoothing 0.4, batch 256, 50 epochs.
PAPER_RECIPE = {"epochs": 50, "batch_size": 256, "lr": 0.1, "weight_decay": 5e-5, "label_smoothing": 0.4,
                "schedule": "cosine"}
RECIPES: Registry = Registry("training recipe")
RECIPES.register("paper", lambda dataset: TrainConfig.from_dict(PAPER_RECIPE))
RECIPES.register("core", lambda dataset: default_config(dataset))

# Size of the published HR forget sets; other data sets forget 10 % of the training set.
HR_COUNTS = {"cifar10": 5000, "cifar100": 5000, "tinyimagenet": 10_000}


def recipe(name: str, dataset: str, **overrides) -> TrainConfig:
    cfg = RECIPES.get(name)(dataset).to_dict()
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(cfg)


def train_original(dataset: str, out: str | Path, *, model: str = "lenet5", recipe_name: str = "core",
                   epochs: int | None = None, seed: int = 0, data_root: str | None = None, download: bool = False,
                   device: str | None = None, overwrite: bool = False, progress: bool = False,
                   model_kwargs: dict | None = None) -> dict:
    """Train the original model on the full training set."""
    plan_training(out, overwrite=overwrite)
    if epochs is not None and epochs < 1:
        raise UnlearnkitError(f"epochs must be >= 1, got {epochs}")
    RECIPES.get(recipe_name)  # an unknown recipe fails before the data is loaded
    resolve_device(device)
    data = load_data(dataset, root=data_root, download=download, augment=dataset != "digits")
    cfg = recipe(recipe_name, dataset, epochs=epochs, seed=seed)
    _, meta, result = train_model(data, model, cfg, out, device=device, overwrite=overwrite, progress=progress,
                                  model_kwargs=model_kwargs, description="original")
    return {"out": str(out), "test_acc": meta["test_acc"], "seconds": result.seconds, "epochs": cfg.epochs}


def sample_forget(dataset: str, out: str | Path, *, count: int | None = None, seed: int = 0,
                  data_root: str | None = None, download: bool = False, overwrite: bool = False) -> dict:
    """HR: a seeded, uniformly random forget set, saved as a forget request (indices + checksum)."""
    plan_outputs({"--out": out}, overwrite=overwrite)
    data = load_data(dataset, root=data_root, download=download)
    if count is None:
        count = HR_COUNTS.get(dataset) or max(1, len(data.train) // 10)
    if not 0 < count < len(data.train):
        raise UnlearnkitError(f"count must be between 1 and {len(data.train) - 1}, got {count}")
    req = ForgetRequest.random(data.train, count=count, seed=seed)
    req.save(out, overwrite=overwrite)
    return {"out": str(out), "count": len(req.indices), "checksum": req.checksum}


def _check_mode(mode: str, classes: list[int] | None, request_path: str | Path | None) -> None:
    """The mode's required inputs, checked before any file is read."""
    mode = str(mode).upper()
    if mode not in ("CR", "HR"):
        raise UnlearnkitError(f"unknown mode {mode!r}; choose CR or HR")
    if mode == "CR" and not classes and not request_path:
        raise UnlearnkitError("CR needs --classes C (the class to forget)")
    if mode == "HR" and not request_path:
        raise UnlearnkitError("HR needs --request FILE (made by `scar sample-forget`)")
    for p, flag in ((request_path, "--request"),):
        if p is not None and not Path(p).is_file():
            raise UnlearnkitError(f"{flag} {p}: file not found")


def make_request(data, mode: str, classes: list[int] | None, request_path: str | None) -> ForgetRequest:
    """CR: the given classes; HR: the saved request of ``sample-forget``."""
    mode = mode.upper()
    if mode == "CR":
        if request_path:
            req = ForgetRequest.load(request_path, dataset=data.train.info.name, dataset_size=len(data.train),
                                     train=data.train)
            if req.kind != "class":
                raise UnlearnkitError(f"{request_path} is a {req.kind} request; CR needs a class request")
            return req
        if not classes:
            raise UnlearnkitError("CR needs --classes C (the class to forget)")
        return ForgetRequest.for_classes(data.train, classes)
    if mode == "HR":
        if not request_path:
            raise UnlearnkitError("HR needs --request FILE (made by `scar sample-forget`)")
        return ForgetRequest.load(request_path, dataset=data.train.info.name, dataset_size=len(data.train),
                                  train=data.train)
    raise UnlearnkitError(f"unknown mode {mode!r}; choose CR or HR")


def train_oracle(original: str | Path, out: str | Path, *, mode: str, classes: list[int] | None = None,
                 request_path: str | None = None, seed: int = 0, data_root: str | None = None,
                 download: bool = False, device: str | None = None, overwrite: bool = False,
                 progress: bool = False) -> dict:
    """Retrain from scratch on the retain set with the original's model and recipe (the gold standard)."""
    plan_training(out, inputs={"--checkpoint": original, "--request": request_path}, overwrite=overwrite)
    _check_mode(mode, classes, request_path)
    resolve_device(device)
    _, ometa = load_checkpoint_for(original)
    dataset = ometa.get("dataset", "digits")
    data = load_data(dataset, root=data_root, download=download, augment=dataset != "digits")
    req = make_request(data, mode, classes, request_path)
    from unlearnkit.shared.checkpoint import read_checkpoint

    mcfg = read_checkpoint(original)["model_config"]
    cfg = TrainConfig.from_dict({**(ometa.get("train_config") or {}), "seed": seed})
    _, meta, result = train_model(data, mcfg["name"], cfg, out, request=req, device=device, overwrite=overwrite,
                                  progress=progress, model_kwargs=dict(mcfg.get("kwargs", {})), description="oracle")
    return {"out": str(out), "test_acc": meta["test_acc"], "seconds": result.seconds, "request": req.checksum}


def unlearn(original: str | Path, out: str | Path, *, method: str = "SCAR", mode: str = "CR",
            classes: list[int] | None = None, request_path: str | None = None, params: ScarParams | None = None,
            oracle: str | Path | None = None, save_model_path: str | Path | None = None, data_root: str | None = None,
            download: bool = False, device: str | None = None, mia: bool = True, mia_repeats: int = 5,
            overwrite: bool = False, progress: bool = False, allow_mismatch: bool = False) -> dict:
    """Run SCAR or SCAR_self on one request; evaluate original, unlearned (and oracle) the paper's way."""
    method_key = method.upper().replace("-", "_")
    if method_key not in ("SCAR", "SCAR_SELF"):
        raise UnlearnkitError(f"unknown method {method!r}; choose SCAR or SCAR_self")
    mode = mode.upper()
    if method_key == "SCAR_SELF" and mode != "CR":
        raise UnlearnkitError("SCAR_self only handles class removal (--mode CR)")
    if mia_repeats < 1:
        raise UnlearnkitError(f"mia repeats must be >= 1, got {mia_repeats}")
    plan_outputs({"--out": out, "--save-model": save_model_path},
                 inputs={"--checkpoint": original, "--reference": oracle, "--request": request_path},
                 overwrite=overwrite)
    _check_mode(mode, classes, request_path)
    dev = resolve_device(device)
    orig_model, ometa = load_checkpoint_for(original)
    oracle_model = oracle_meta = None
    if oracle:
        oracle_model, oracle_meta = load_checkpoint_for(oracle)  # a bad reference fails before the work
    dataset = ometa.get("dataset", "digits")
    data = load_data(dataset, root=data_root, download=download)
    req = make_request(data, mode, classes, request_path)
    if oracle_meta is not None:
        check_same_request(oracle_meta, req.checksum, oracle, allow_mismatch=allow_mismatch)
    splits = splits_for(req, data)
    params = apply_preset(params or ScarParams(), dataset)
    seed_everything(params.seed)
    ctx = UnlearnContext.from_splits(splits, req, orig_model, device=dev, seed=params.seed)
    a_or = reference_accuracy(ctx.original, splits, mode, dev)
    target = params.target
    if target is None:
        target = cr_target() if mode == "CR" else hr_target(a_or / 100, params.hr_margin)
    surrogate = context_surrogate(ctx, params)
    retain = splits.retain if params.stats_from == "retain" else None
    model = copy.deepcopy(orig_model).to(dev)
    t0 = time.perf_counter()
    if method_key == "SCAR":
        threshold = params.hr_threshold if params.hr_threshold is not None else HR_THRESHOLDS.get(dataset, 0.8)
        res = scar(model, original=ctx.original, forget=splits.forget, surrogate=surrogate, mode=mode,
                   forget_classes=list(req.classes), num_classes=ctx.num_classes, target=target, params=params,
                   retain=retain, device=dev, progress=progress, hr_threshold=threshold)
    else:
        res = scar_self(model, original=ctx.original, surrogate=surrogate, forget_classes=list(req.classes),
                        num_classes=ctx.num_classes, target=target, params=params, retain=retain, device=dev,
                        progress=progress)
    seconds = time.perf_counter() - t0
    rows = {"original": scar_report(ctx.original, splits, mode, a_or=a_or, device=dev, mia=mia,
                                    mia_repeats=mia_repeats, seed=params.seed),
            method: scar_report(res.model, splits, mode, a_or=a_or, device=dev, mia=mia, mia_repeats=mia_repeats,
                                seed=params.seed)}
    if oracle_model is not None:
        rows["oracle"] = scar_report(oracle_model, splits, mode, a_or=a_or, device=dev, mia=mia,
                                     mia_repeats=mia_repeats, seed=params.seed)
    summary = {
        "method": method, "mode": mode, "dataset": dataset, "request": req.checksum, "classes": list(req.classes),
        "forget_size": len(splits.forget), "stats_from": params.stats_from,
        "surrogate": getattr(surrogate, "description", type(surrogate).__name__), "surrogate_size": len(surrogate),
        "target": target, "stopped": res.stopped, "epochs": res.epochs, "steps": res.steps,
        "unlearn_seconds": res.seconds, "total_seconds": seconds, "stats_classes": res.stats_classes,
        "stats_counts": res.stats_counts, "params": asdict(params), "results": rows,
    }
    if save_model_path:
        save_model(save_model_path, res.model, meta={"dataset": dataset, "request": req.checksum,
                                                     "role": f"unlearned:{method}", "scar_params": asdict(params)})
    save_json(out, summary)
    return summary

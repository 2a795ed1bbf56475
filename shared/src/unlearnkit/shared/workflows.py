"""The core's user-level jobs as functions: train an original model, retrain without a forget set, unlearn,
evaluate. The CLI commands are thin wrappers over these, and so is the bench.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import distributed as dist
from .checkpoint import is_complete, load_model, partial_path, save_model
from .data import ForgetRequest, LabeledDataset, Splits, load_dataset, make_splits
from .errors import UnlearnkitError
from .io import check_writable
from .models import create_model
from .train import FitResult, TrainConfig, evaluate, fit

# Recipes that reach the targets on the embedded data in seconds; other data sets fall back to TrainConfig().
DEFAULT_RECIPES: dict[str, dict] = {
    "digits": {"epochs": 30, "batch_size": 64, "lr": 0.05, "weight_decay": 5e-4, "schedule": "cosine"},
    "mnist": {"epochs": 20, "batch_size": 128, "lr": 0.05},
    "fashionmnist": {"epochs": 30, "batch_size": 128, "lr": 0.05},
    "cifar10": {"epochs": 182, "batch_size": 256, "lr": 0.1, "schedule": "multistep", "milestones": (91, 136)},
    # synthetic data exist to time code at real shapes: a few epochs learn them
    "synthetic-cifar10": {"epochs": 3, "batch_size": 128, "lr": 0.05},
    "synthetic-imagenet": {"epochs": 3, "batch_size": 64, "lr": 0.05},
    "cifar100": {"epochs": 182, "batch_size": 256, "lr": 0.1, "schedule": "multistep", "milestones": (91, 136)},
}


def default_config(dataset: str, **overrides) -> TrainConfig:
    base = dict(DEFAULT_RECIPES.get(dataset, {}))
    base.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(base)


def resolve_device(device: str | None) -> torch.device:
    if device in (None, "auto"):
        return dist.default_device()
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UnlearnkitError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UnlearnkitError("CUDA was requested but no GPU is available; use --device cpu")
    return dev


@dataclass
class DataBundle:
    train: LabeledDataset  # un-augmented: what metrics and requests see
    test: LabeledDataset
    train_aug: LabeledDataset  # what training sees


def load_data(name: str, root: str | os.PathLike | None = None, download: bool = False, augment: bool = False,
              image_size: int | None = None, in_chans: int | None = None) -> DataBundle:
    kw = {"root": root, "download": download, "image_size": image_size, "in_chans": in_chans}
    train = load_dataset(name, "train", **kw)
    test = load_dataset(name, "test", **kw)
    train_aug = load_dataset(name, "train", augment=True, **kw) if augment else train
    return DataBundle(train, test, train_aug)


def build_model_for(data: LabeledDataset, model_name: str, **kw) -> nn.Module:
    info = data.info
    return create_model(model_name, info.num_classes or int(data.targets.max()) + 1, in_chans=info.in_chans, **kw)


def classifier_snapshot(model: nn.Module) -> dict:
    """The final layer's initial weights: Prototype Surgery's closed form needs W_init."""
    head = dist.unwrap(model).classifier
    return {"weight": head.weight.detach().cpu().clone(), "bias": head.bias.detach().cpu().clone()}


def training_outputs(out: str | os.PathLike) -> dict[str, Path]:
    """Every file a training run writes: the finished checkpoint, its resumable partial state, the epoch log."""
    out = Path(out)
    return {"--out": out, "partial": partial_path(out), "log": out.with_suffix(".log.jsonl")}


def plan_training(out: str | os.PathLike, *, resume: bool = False, overwrite: bool = False,
                  inputs: dict | None = None) -> dict[str, Path]:
    """Check a training run's outputs before any work (see ``outputs.plan_outputs``).

    Without ``resume`` every output must be new or ``overwrite`` given; a leftover ``.partial`` of a killed
    run is named so that the user can choose ``--resume``. With ``resume`` the partial and the log are the
    run's own; whether the finished ``out`` may be touched is decided by :func:`train_model`.
    """
    from .outputs import plan_outputs

    paths = training_outputs(out)
    if not resume and paths["partial"].exists() and not overwrite:
        raise UnlearnkitError(f"{paths['partial']} holds a killed run of {out}: pass --resume to continue it or "
                              "--overwrite to start afresh")
    plan_outputs({"--out": paths["--out"]}, inputs=inputs,
                 overwrite=overwrite or (resume and is_complete(paths["--out"])))
    plan_outputs({"--out (partial)": paths["partial"], "--out (log)": paths["log"]}, inputs=inputs,
                 overwrite=overwrite or resume)
    return paths


def _run_meta(data: DataBundle, request: ForgetRequest | None) -> dict:
    return {"dataset": data.train.info.name, "dataset_size": len(data.train),
            "request": request.checksum if request else None, "request_kind": request.kind if request else None,
            "role": "retrained" if request else "original"}


def train_model(data: DataBundle, model_name: str, cfg: TrainConfig, out: str | os.PathLike, *,
                request: ForgetRequest | None = None, device: str | None = None, resume: bool = False,
                overwrite: bool = False, progress: bool | None = None, model_kwargs: dict | None = None,
                description: str = "train") -> tuple[nn.Module, dict, FitResult]:
    """Train from scratch on the training set, or on its retain part when ``request`` is given (retrain).

    Epochs are checkpointed to ``out.partial``; ``out`` itself is written once, when training completed
    (``meta["complete"] = True``), and the partial file is then removed. A killed run leaves an existing
    ``out`` untouched, even under ``overwrite``.

    ``resume`` continues ``out.partial`` only when it is the same run (model, data set, request and every
    training setting, see ``train.resume_mismatch``), and refuses otherwise. Without a partial, a finished
    ``out`` of the same run is returned as it is (``result.already_complete``); a finished ``out`` of another
    run is refused. A finished ``out`` is never replaced without ``overwrite``.
    """
    from .train.loop import check_model_fits, resume_mismatch

    out = Path(out)
    partial = partial_path(out)
    torch.manual_seed(cfg.seed)
    model = build_model_for(data.train, model_name, **(model_kwargs or {}))
    meta = {**_run_meta(data, request), "init_classifier": classifier_snapshot(model)}
    if out.exists() and (not resume or not partial.exists()):
        if resume and is_complete(out):
            from .checkpoint import read_checkpoint

            finished = read_checkpoint(out)
            problem = resume_mismatch(finished, cfg, model.model_config, meta)
            if problem:
                raise UnlearnkitError(f"{out} is a finished run, but {problem}; choose another --out, or pass "
                                      "--overwrite without --resume to replace it")
            done, done_meta = load_model(out)
            history = list(done_meta.get("history", []))
            return done, done_meta, FitResult(history=history, resumed_from=len(history), completed=True,
                                              already_complete=True)
        check_writable(out, overwrite)
    elif out.exists() and not overwrite:  # resuming a partial run would replace the finished out at its end
        raise UnlearnkitError(f"{out} already exists; resuming {partial} would replace it at the end: pass "
                              "--overwrite to allow that")
    if not resume and dist.is_main():
        partial.unlink(missing_ok=True)  # a fresh run must not continue a stale one (--overwrite was checked)
    dev = resolve_device(device)
    train_set = data.train_aug
    if request is not None:
        splits = make_splits(request, data.train, data.test)
        train_set = data.train_aug.subset(splits.retain.source_indices)
    check_model_fits(model, train_set)
    # The epoch log grows beside the partial checkpoint and replaces <out>.log.jsonl only with the finished
    # model, so a killed --overwrite run leaves the previous run's log as intact as its checkpoint.
    log_path = out.with_suffix(".log.jsonl")
    log_partial = Path(str(log_path) + ".partial")
    if not resume and dist.is_main():
        log_partial.unlink(missing_ok=True)
    result = fit(model, train_set, cfg, device=dev, checkpoint_path=out,
                 resume=resume, log_path=log_partial, progress=progress, meta=meta, description=description,
                 eval_sets=None)
    # seconds: the epochs' own time, so that a resumed run reports what the whole training cost
    meta.update(train_config=cfg.to_dict(), epoch=cfg.epochs - 1, seconds=sum(h["seconds"] for h in result.history),
                test_acc=evaluate(model, data.test, dev), history=result.history, complete=result.completed)
    if dist.is_main() and result.completed:
        save_model(out, model, meta=meta)  # the finished file, without the optimiser state
        partial.unlink(missing_ok=True)
        if log_partial.exists():
            os.replace(log_partial, log_path)
    dist.barrier()
    return model, meta, result


def load_finished(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """``load_model`` for a model a command acts on: an unfinished run (a ``.partial`` file, or a checkpoint
    whose meta says ``complete: False``) is refused, so a killed run is never evaluated as if it were done."""
    model, meta = load_model(path)
    if meta.get("complete") is False:
        raise UnlearnkitError(f"{path} is an unfinished training run (epoch {int(meta.get('epoch', -1)) + 1} of "
                              f"{(meta.get('train_config') or {}).get('epochs', '?')}); finish it with --resume")
    return model, meta


def load_checkpoint_for(path: str | os.PathLike, data: DataBundle | None = None) -> tuple[nn.Module, dict]:
    model, meta = load_model(path)
    if data is not None and meta.get("dataset") not in (None, data.train.info.name):
        raise UnlearnkitError(f"{path} was trained on {meta.get('dataset')!r}, not {data.train.info.name!r}")
    return model, meta


def splits_for(request: ForgetRequest, data: DataBundle) -> Splits:
    return make_splits(request, data.train, data.test)


def retrain_from_request(request_path, out, *, original=None, data: str = "digits", model: str = "lenet5",
                         epochs: int | None = None, seed: int = 0, resume: bool = False, data_root=None,
                         download: bool = False, device: str | None = None, overwrite: bool = False,
                         progress: bool | None = None) -> dict:
    """Retrain without the request's samples, reusing the original's model and recipe when given.

    Returns the checkpoint's meta plus ``already_complete`` (``resume`` found this very run finished).
    """
    model_kwargs: dict = {}
    if original is not None:
        omodel, ometa = load_finished(original)
        cfg_dict = dict(ometa.get("train_config") or {})
        data = ometa.get("dataset", data)
        mcfg = omodel.model_config  # validated by load_model: only the model's allowed arguments
        model, model_kwargs = mcfg["name"], dict(mcfg.get("kwargs", {}))
        cfg = TrainConfig.from_dict({**cfg_dict, "seed": seed, **({"epochs": epochs} if epochs else {})})
    else:
        cfg = default_config(data, epochs=epochs, seed=seed)
    bundle = load_data(data, data_root, download)
    req = ForgetRequest.load(request_path, dataset=bundle.train.info.name, dataset_size=len(bundle.train),
                           train=bundle.train)
    _, meta, result = train_model(bundle, model, cfg, out, request=req, device=device, resume=resume,
                                  overwrite=overwrite, progress=progress, model_kwargs=model_kwargs,
                                  description="retrain")
    return {**meta, "already_complete": result.already_complete}


def _context(model_path, request_path, data_root, download, device, seed=0):
    from .methods import UnlearnContext

    dev = resolve_device(device)
    model, meta = load_finished(model_path)
    bundle = load_data(meta.get("dataset", "digits"), data_root, download)
    req = ForgetRequest.load(request_path, dataset=bundle.train.info.name, dataset_size=len(bundle.train),
                             train=bundle.train)
    splits = splits_for(req, bundle)
    ctx = UnlearnContext.from_splits(splits, req, model, device=dev, seed=seed, meta=meta)
    return model, meta, req, splits, ctx


def load_reference(reference, request: ForgetRequest, *, allow_mismatch: bool = False) -> nn.Module:
    """The retrained model to compare with, refused (unless ``allow_mismatch``) when it was retrained for
    another forget request, or is an original model: an Avg. Gap against it would mean nothing."""
    from .checkpoint import check_same_request

    ref_model, ref_meta = load_finished(reference)
    check_same_request(ref_meta, request.checksum, reference, allow_mismatch=allow_mismatch)
    return ref_model


def _compare(report: dict, metrics: dict, ref_model: nn.Module | None, splits: Splits, device) -> dict:
    from .evaluation import METRIC_KEYS, evaluate_unlearning
    from .metrics import avg_gap

    if ref_model is not None:
        ref = evaluate_unlearning(ref_model, splits, device)
        report["reference"] = ref
        report["AvgGap"] = avg_gap(metrics, ref, keys=METRIC_KEYS)
    return report


def evaluate_checkpoint(model_path, request_path, *, reference=None, data_root=None, download=False,
                        device=None, allow_mismatch: bool = False) -> dict:
    """UA / RA / TA / MIA of a checkpoint on a forget request, and the Avg. Gap to ``reference`` (a model
    retrained for the same request; see :func:`load_reference`)."""
    from .evaluation import evaluate_unlearning

    model, _, req, splits, ctx = _context(model_path, request_path, data_root, download, device)
    ref_model = load_reference(reference, req, allow_mismatch=allow_mismatch) if reference is not None else None
    metrics = evaluate_unlearning(model, splits, ctx.device)
    report = {"model": str(model_path), "request": req.checksum, "metrics": metrics}
    return _compare(report, metrics, ref_model, splits, ctx.device)


def unlearn_outputs(out: str | os.PathLike) -> dict[str, Path]:
    """The files ``unlearn`` writes: the unlearned checkpoint and its JSON report beside it."""
    out = Path(out)
    return {"--out": out, "--out (report)": out.with_suffix(".json")}


def unlearn_and_evaluate(method: str, model_path, request_path, out, *, params: dict | None = None, reference=None,
                         seed: int = 0, data_root=None, download=False, device=None, overwrite=False,
                         allow_mismatch: bool = False) -> dict:
    """Run one method on a saved original and request; write the unlearned checkpoint and a JSON report.

    Every output is checked against every input before any work (``outputs.plan_outputs``): the report
    sidecar ``<out>.json`` may not be the request, and nothing existing is replaced without ``overwrite``.
    """
    from .evaluation import evaluate_unlearning
    from .io import save_json
    from .methods import get_method, run_method
    from .outputs import plan_outputs

    paths = plan_outputs(unlearn_outputs(out), overwrite=overwrite,
                         inputs={"--checkpoint": model_path, "--request": request_path, "--reference": reference})
    spec = get_method(method)
    typed = spec.make_params(params or {})
    model, meta, req, splits, ctx = _context(model_path, request_path, data_root, download, device, seed)
    ref_model = load_reference(reference, req, allow_mismatch=allow_mismatch) if reference is not None else None
    unlearned, rte = run_method(spec.name, model, ctx, params=typed)
    metrics = evaluate_unlearning(unlearned, splits, ctx.device)
    report = {"method": spec.name, "model": str(model_path), "request": req.checksum, "metrics": metrics,
              "rte": rte, "seed": seed, "params": params or {}}
    _compare(report, metrics, ref_model, splits, ctx.device)
    save_model(paths["--out"], unlearned, meta={**{k: v for k, v in meta.items() if k != "history"},
                                                "role": "unlearned", "method": spec.name, "request": req.checksum,
                                                "report": report})
    save_json(paths["--out (report)"], report)
    return report

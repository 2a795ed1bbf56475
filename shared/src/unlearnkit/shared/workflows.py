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


def train_model(data: DataBundle, model_name: str, cfg: TrainConfig, out: str | os.PathLike, *,
                request: ForgetRequest | None = None, device: str | None = None, resume: bool = False,
                overwrite: bool = False, progress: bool | None = None, model_kwargs: dict | None = None,
                description: str = "train") -> tuple[nn.Module, dict, FitResult]:
    """Train from scratch on the training set, or on its retain part when ``request`` is given (retrain).

    Epochs are checkpointed to ``out.partial``; ``out`` itself is written once, when training completed
    (``meta["complete"] = True``), and the partial file is then removed. A killed run leaves an existing
    ``out`` untouched, even under ``overwrite``. ``resume`` continues ``out.partial`` when there is one, else returns a finished
    ``out`` as it is.
    """
    out = Path(out)
    partial = partial_path(out)
    if resume and not partial.exists() and is_complete(out):
        # A finished run: nothing left to train (a config-match check for resuming belongs in train.loop).
        model, meta = load_model(out)
        history = list(meta.get("history", []))
        return model, meta, FitResult(history=history, resumed_from=len(history), completed=True)
    if not resume:
        check_writable(out, overwrite)
        if partial.exists() and dist.is_main():
            partial.unlink()  # a fresh run must not continue a stale one
    dev = resolve_device(device)
    train_set = data.train_aug
    if request is not None:
        splits = make_splits(request, data.train, data.test)
        train_set = data.train_aug.subset(splits.retain.source_indices)
    torch.manual_seed(cfg.seed)
    model = build_model_for(data.train, model_name, **(model_kwargs or {}))
    meta = {
        "dataset": data.train.info.name,
        "dataset_size": len(data.train),
        "request": request.checksum if request else None,
        "request_kind": request.kind if request else None,
        "role": "retrained" if request else "original",
        "init_classifier": classifier_snapshot(model),
    }
    log_path = out.with_suffix(".log.jsonl")
    if log_path.exists() and not resume and dist.is_main():
        log_path.unlink()
    result = fit(model, train_set, cfg, device=dev, checkpoint_path=out,
                 resume=resume, log_path=log_path, progress=progress, meta=meta, description=description,
                 eval_sets=None)
    # seconds: the epochs' own time, so that a resumed run reports what the whole training cost
    meta.update(train_config=cfg.to_dict(), epoch=cfg.epochs - 1, seconds=sum(h["seconds"] for h in result.history),
                test_acc=evaluate(model, data.test, dev), history=result.history, complete=result.completed)
    if dist.is_main() and result.completed:
        save_model(out, model, meta=meta)  # the finished file, without the optimiser state
        partial.unlink(missing_ok=True)
    dist.barrier()
    return model, meta, result


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
    """Retrain without the request's samples, reusing the original's model and recipe when given."""
    model_kwargs: dict = {}
    if original is not None:
        omodel, ometa = load_model(original)
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
    _, meta, _ = train_model(bundle, model, cfg, out, request=req, device=device, resume=resume,
                             overwrite=overwrite, progress=progress, model_kwargs=model_kwargs, description="retrain")
    return meta


def _context(model_path, request_path, data_root, download, device, seed=0):
    from .methods import UnlearnContext

    model, meta = load_model(model_path)
    bundle = load_data(meta.get("dataset", "digits"), data_root, download)
    req = ForgetRequest.load(request_path, dataset=bundle.train.info.name, dataset_size=len(bundle.train),
                           train=bundle.train)
    dev = resolve_device(device)
    splits = splits_for(req, bundle)
    ctx = UnlearnContext.from_splits(splits, req, model, device=dev, seed=seed, meta=meta)
    return model, meta, req, splits, ctx


def evaluate_checkpoint(model_path, request_path, *, reference=None, data_root=None, download=False,
                        device=None) -> dict:
    from .evaluation import METRIC_KEYS, evaluate_unlearning
    from .metrics import avg_gap

    model, _, req, splits, ctx = _context(model_path, request_path, data_root, download, device)
    metrics = evaluate_unlearning(model, splits, ctx.device)
    report = {"model": str(model_path), "request": req.checksum, "metrics": metrics}
    if reference is not None:
        ref_model, _ = load_model(reference)
        ref = evaluate_unlearning(ref_model, splits, ctx.device)
        report["reference"] = ref
        report["AvgGap"] = avg_gap(metrics, ref, keys=METRIC_KEYS)
    return report


def unlearn_and_evaluate(method: str, model_path, request_path, out, *, params: dict | None = None, reference=None,
                         seed: int = 0, data_root=None, download=False, device=None, overwrite=False) -> dict:
    """Run one method on a saved original and request; write the unlearned checkpoint and a JSON report."""
    from .evaluation import METRIC_KEYS, evaluate_unlearning
    from .io import save_json
    from .methods import get_method, run_method
    from .metrics import avg_gap

    out = Path(out)
    check_writable(out, overwrite)
    model, meta, req, splits, ctx = _context(model_path, request_path, data_root, download, device, seed)
    spec = get_method(method)
    unlearned, rte = run_method(spec.name, model, ctx, params=spec.make_params(params or {}))
    metrics = evaluate_unlearning(unlearned, splits, ctx.device)
    report = {"method": spec.name, "model": str(model_path), "request": req.checksum, "metrics": metrics,
              "rte": rte, "seed": seed, "params": params or {}}
    if reference is not None:
        ref_model, _ = load_model(reference)
        ref = evaluate_unlearning(ref_model, splits, ctx.device)
        report["reference"] = ref
        report["AvgGap"] = avg_gap(metrics, ref, keys=METRIC_KEYS)
    save_model(out, unlearned, meta={**{k: v for k, v in meta.items() if k != "history"}, "role": "unlearned",
                                     "method": spec.name, "request": req.checksum, "report": report})
    save_json(out.with_suffix(".json"), report)
    return report

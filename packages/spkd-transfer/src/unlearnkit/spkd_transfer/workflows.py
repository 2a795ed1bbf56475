"""The jobs behind the ``spkd-transfer`` commands, as importable functions.

They mirror the published scripts (main_train, generate_mask, main_forget / main_random, main_knn,
main_cka) on top of the shared core: training, retraining, baselines, saliency masks, UA/RA/TA/MIA all come
from ``unlearnkit.shared``; this module adds class lists, SPKD, and the transfer probes.

Files in a run directory (``--out``; the published ``--save_dir``): ``original.pt`` (+ its training log and,
while it trains, ``original.pt.partial``), ``request.json`` (the forget request every method and metric
shares), ``<method>.pt`` + ``<method>.json`` per unlearned model, ``mask/with_<r>.pt``. Every function checks
its inputs and plans every output path (``unlearnkit.shared.outputs.plan_outputs``) before it loads data or
a model; files are written atomically, so a killed run leaves finished outputs intact.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn
from unlearnkit.shared.checkpoint import check_same_request, load_model, partial_path, read_checkpoint
from unlearnkit.shared.data import ForgetRequest, LabeledDataset
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import load_json, save_json
from unlearnkit.shared.methods import UnlearnContext, get_method, run_method, saliency_masks, save_mask
from unlearnkit.shared.outputs import plan_outputs
from unlearnkit.shared.workflows import default_config, load_data, resolve_device, splits_for, train_model

from .classlists import resolve_classes
from .downstream import DEFAULT_DOWNSTREAM, load_downstream
from .spkd import PRESETS
from .transfer import cka_to_reference, knn_transfer

__all__ = [
    "METHOD_ALIASES", "canonical_method", "train_original", "ensure_request", "generate_masks", "forget",
    "transfer_metrics", "knn_models", "cka_models", "model_kwargs_for",
]

# the published script's --unlearn names -> registry names
METHOD_ALIASES = {"ft_prune": "l1_sparse", "l1-sparse": "l1_sparse", "l1sparse": "l1_sparse", "spkd-rkd": "spkd_rkd",
                  "spkd-akd": "spkd_akd", "rkd": "spkd_rkd", "akd": "spkd_akd", "finetune": "ft"}
# CLI flag -> parameter name in a method's params dataclass (passed only where the method has it)
FLAG_TO_PARAM = {"unlearn_epochs": "epochs", "unlearn_lr": "lr", "batch_size": "batch_size", "alpha": "alpha",
                 "mask_path": "mask_path", "distill": "distill", "teacher": "teacher", "teacher_path": "teacher_path",
                 "forget_cap": "forget_cap"}


def canonical_method(name: str) -> str:
    key = name.strip().lower()
    return METHOD_ALIASES.get(key, key.replace("-", "_"))


def model_kwargs_for(arch: str, imagenet_arch: bool) -> dict:
    """``--imagenet-arch`` picks the ImageNet stem for torchvision ResNets (the published flag's meaning);
    without it they get the CIFAR stem, suited to 32 px images. Other architectures have one form."""
    if arch in ("resnet18", "resnet50"):
        return {"stem": "imagenet" if imagenet_arch else "cifar"}
    return {}


def train_original(dataset: str, arch: str, save_dir: str | Path, *, imagenet_arch: bool = False,
                   epochs: int | None = None, lr: float | None = None, batch_size: int | None = None, seed: int = 0,
                   data_root=None, download: bool = False, device: str | None = None, overwrite: bool = False,
                   progress: bool | None = None) -> dict:
    """main_train: the original model, ``<save_dir>/original.pt`` (recipe: the core's per-data-set default)."""
    out = Path(save_dir) / "original.pt"
    plan_outputs({"original model": out, "training log": out.with_suffix(".log.jsonl"),
                  "partial checkpoint": partial_path(out)}, overwrite=overwrite)
    resolve_device(device)  # a bad --device fails before the data are loaded
    data = load_data(dataset, data_root, download)
    cfg = default_config(dataset, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    _, meta, _ = train_model(data, arch, cfg, out, device=device, overwrite=overwrite, progress=progress,
                             model_kwargs=model_kwargs_for(arch, imagenet_arch))
    return {"path": str(out), "test_acc": meta["test_acc"], "seconds": meta["seconds"], "dataset": dataset}


def _train_set_of(model_path, data_root=None, download=False):
    _, meta = load_model(model_path)
    dataset = meta.get("dataset")
    if not dataset:
        raise UnlearnkitError(f"{model_path} does not say which data set it was trained on (meta['dataset'])")
    return load_data(dataset, data_root, download), meta


def ensure_request(save_dir: str | Path, model_path, class_to_replace: str | None, *, data_root=None,
                   download: bool = False, overwrite: bool = False) -> tuple[Path, ForgetRequest]:
    """``<save_dir>/request.json`` for the given classes: written once, then reused (and checked) by every
    later command, so all methods of a run forget exactly the same samples."""
    path = Path(save_dir) / "request.json"
    _require_files({"--checkpoint": model_path})
    bundle, _ = _train_set_of(model_path, data_root, download)
    train = bundle.train
    if class_to_replace is None:
        if not path.is_file():
            raise UnlearnkitError(f"no forget request in {save_dir}: pass --classes")
        return path, ForgetRequest.load(path, dataset=train.info.name, dataset_size=len(train))
    classes = resolve_classes(class_to_replace, train.info.num_classes, train.info.class_names)
    req = ForgetRequest.for_classes(train, classes)
    if path.is_file() and not overwrite:
        old = ForgetRequest.load(path, dataset=train.info.name, dataset_size=len(train))
        if old.checksum != req.checksum:
            raise UnlearnkitError(
                f"{path} forgets classes {list(old.classes)}, not {sorted(classes)}; use another --out folder")
        return path, old
    req.save(path, overwrite=True)
    return path, req


def _context(model_path, request_path, data_root, download, device, seed,
             progress: bool | None = None) -> tuple[nn.Module, UnlearnContext, object]:
    bundle, meta = _train_set_of(model_path, data_root, download)
    model, _ = load_model(model_path)
    req = ForgetRequest.load(request_path, dataset=bundle.train.info.name, dataset_size=len(bundle.train))
    splits = splits_for(req, bundle)
    ctx = UnlearnContext.from_splits(splits, req, model, device=resolve_device(device), seed=seed, meta=meta,
                                     progress=progress)
    return model, ctx, splits


def _require_files(paths: Mapping[str, object]) -> None:
    """Every input file exists before any work (one line naming the flag and the path)."""
    for flag, p in paths.items():
        if p is not None and not Path(p).is_file():
            raise UnlearnkitError(f"{flag} {p}: file not found")


def _request_output(save_dir, class_to_replace: str | None) -> dict[str, Path]:
    """``request.json`` is an output only when this command creates or replaces it."""
    path = Path(save_dir) / "request.json"
    return {"request.json": path} if class_to_replace is not None and not path.is_file() else {}


def check_reference(path, request: ForgetRequest, *, allow_mismatch: bool = False, role: str = "--reference") -> None:
    """A retrained reference (or teacher) must have been retrained for this very request."""
    meta = read_checkpoint(path).get("meta", {})
    got = meta.get("request") or meta.get("request_checksum")
    check_same_request({"request": got}, request.checksum, path, allow_mismatch=allow_mismatch, role=role)


def check_method_numbers(params, given) -> None:
    """Counts and rates a user set (a ``-p epochs=0``, ``lr=inf`` ...) that a method would silently misuse are
    refused. Only the ``given`` names are checked: a method's own default may use 0 to mean "the recipe's"."""
    for name in ("epochs", "batch_size"):
        value = getattr(params, name, None) if name in given else None
        if isinstance(value, int) and value < 1:
            raise UnlearnkitError(f"{name} {value!r} is not allowed: must be an integer >= 1")
    for name in ("lr", "unlearn_lr"):
        value = getattr(params, name, None) if name in given else None
        if isinstance(value, float | int) and not (math.isfinite(value) and value > 0):
            raise UnlearnkitError(f"{name} {value!r} is not allowed: must be a finite number > 0")


def generate_masks(model_path, class_to_replace: str | None, save_dir, *, ratios: Sequence[float] | None = None,
                   data_root=None, download=False, device=None, overwrite=False) -> list[str]:
    """generate_mask: SalUn saliency masks ``<save_dir>/mask/with_<ratio>.pt`` for ratios 0.1 .. 1.0."""
    ratios = list(ratios or [round(0.1 * i, 1) for i in range(1, 11)])
    if any(not 0 < r <= 1 for r in ratios):
        raise UnlearnkitError(f"mask ratios must lie in (0, 1], got {ratios}")
    if any(not (math.isfinite(r) and 0 < r <= 1) for r in ratios):
        raise UnlearnkitError(f"mask ratios must lie in (0, 1], got {ratios}")
    outs = [Path(save_dir) / "mask" / f"with_{r:g}.pt" for r in ratios]
    _require_files({"--checkpoint": model_path})
    plan_outputs({**{f"mask {r:g}": o for r, o in zip(ratios, outs, strict=True)},
                  **_request_output(save_dir, class_to_replace)},
                 inputs={"--checkpoint": model_path}, overwrite=overwrite)
    resolve_device(device)
    req_path, _ = ensure_request(save_dir, model_path, class_to_replace, data_root=data_root, download=download)
    model, ctx, _ = _context(model_path, req_path, data_root, download, device, 0)
    masks = saliency_masks(model, ctx.forget, ratios, device=ctx.device)
    for r, o in zip(ratios, outs, strict=True):
        save_mask(o, masks[float(r)])
    return [str(o) for o in outs]


def method_overrides(method: str, flags: Mapping[str, object]) -> dict:
    """Map the seed's flags onto the chosen method's parameters; a flag the method lacks is an error only
    when the user actually set it (so ``--alpha`` with ``--method ga`` is reported, not ignored)."""
    import dataclasses

    spec = get_method(method)
    fields = {f.name for f in dataclasses.fields(spec.params_cls)} if dataclasses.is_dataclass(spec.params_cls) else set()
    out = {}
    for flag, value in flags.items():
        if value is None:
            continue
        name = FLAG_TO_PARAM.get(flag, flag)
        if name not in fields:
            raise UnlearnkitError(f"--{flag.replace('_', '-')} does not apply to --method {method}")
        out[name] = value
    return out


def forget(method: str, model_path, save_dir, *, class_to_replace: str | None = None, preset: str | None = None,
           flags: Mapping[str, object] | None = None, params: Mapping[str, str] | None = None, retrained_path=None,
           allow_mismatch: bool = False, downstream: Sequence[str] = (), feature_layer: str = "penultimate",
           layers: str = "penultimate", seed: int = 0, data_root=None, download=False, device=None,
           overwrite=False, out_name: str | None = None, progress: bool | None = None) -> dict:
    """main_forget: unlearn with any registered method, save ``<save_dir>/<method>.pt``, evaluate UA / RA /
    TA / MIA (core), k-NN on the downstream sets and CKA to ``retrained_path`` when given; returns the report.

    ``flags`` are the published script's (``unlearn_epochs``, ``unlearn_lr``, ...); ``params`` are typed
    ``key=value`` strings for any field of the method's parameters (``unlearnkit.shared.typed``). A
    ``retrained_path`` (or SPKD teacher file) must be retrained for the same request unless ``allow_mismatch``.
    """
    from unlearnkit.shared.checkpoint import save_model
    from unlearnkit.shared.evaluation import evaluate_unlearning

    method = canonical_method(method)
    spec = get_method(method)
    out = Path(save_dir) / f"{out_name or method}.pt"
    flags = dict(flags or {})
    if preset and (preset not in PRESETS or not method.startswith("spkd")):
        raise UnlearnkitError(f"--preset takes {' or '.join(PRESETS)} and applies to the spkd methods only")
    overrides = dict(PRESETS[preset]) if preset else {}
    overrides.update(method_overrides(method, flags))
    overrides.update(params or {})
    typed = spec.make_params(overrides)  # typed and checked before anything is loaded
    check_method_numbers(typed, overrides)
    inputs = {"--checkpoint": model_path, "--reference": retrained_path, "--mask": flags.get("mask_path"),
              "--teacher": flags.get("teacher_path") or None}
    _require_files(inputs)
    plan_outputs({"--out model": out, "--out report": out.with_suffix(".json"),
                  **_request_output(save_dir, class_to_replace)}, inputs=inputs, overwrite=overwrite)
    resolve_device(device)
    # the run's request is never replaced here, even with --overwrite: every method of the run shares it
    req_path, req = ensure_request(save_dir, model_path, class_to_replace, data_root=data_root, download=download)
    if retrained_path:
        check_reference(retrained_path, req, allow_mismatch=allow_mismatch)
    if flags.get("teacher_path"):
        check_reference(flags["teacher_path"], req, allow_mismatch=allow_mismatch, role="--teacher")
    if flags.get("mask_path"):
        check_mask(flags["mask_path"], model_path)
    model, ctx, splits = _context(model_path, req_path, data_root, download, device, seed, progress)
    unlearned, rte = run_method(method, model, ctx, params=typed)
    metrics = evaluate_unlearning(unlearned, splits, ctx.device)
    reference = load_model(retrained_path)[0] if retrained_path else None
    metrics.update(transfer_metrics(unlearned, reference, downstream, splits=splits, feature_layer=feature_layer,
                                    layers=layers, data_root=data_root, device=ctx.device))
    report = {"method": method, "model": str(model_path), "request": req.checksum, "classes": list(req.classes),
              "metrics": metrics, "rte": rte, "seed": seed,
              "params": {k: getattr(typed, k, v) for k, v in overrides.items()}}
    history = getattr(unlearned, "spkd_history", None)
    if history:
        report["history"] = history
    _, meta = load_model(model_path)
    save_model(out, unlearned, meta={**{k: v for k, v in meta.items() if k not in ("history", "init_classifier")},
                                     "init_classifier": meta.get("init_classifier"), "role": "unlearned",
                                     "method": method, "request": req.checksum,
                                     **({"allow_mismatch": True} if allow_mismatch else {})})
    save_json(out.with_suffix(".json"), report)
    report["path"] = str(out)
    return report


def _downstream_sets(model: nn.Module, names: Sequence[str], data_root, image_size: int | None = None
                     ) -> dict[str, LabeledDataset]:
    """Downstream sets shaped like the model's training images (``image_size``; see :func:`input_size`)."""
    cfg = getattr(model, "model_config", {}) or {}
    in_chans = int(cfg.get("in_chans", 3))
    size = image_size or int((cfg.get("kwargs") or {}).get("image_size", 0)) or (32 if in_chans == 1 else 224)
    return {n: load_downstream(n, root=data_root, image_size=size, in_chans=in_chans) for n in names}


def input_size(meta: Mapping) -> int | None:
    """The image size the model was trained at, from its checkpoint's data set (None when unknown), so a
    CIFAR-stem ResNet gets 32 px downstream images and an ImageNet ResNet-50 224 px."""
    from unlearnkit.shared.data import dataset_info

    name = meta.get("dataset")
    try:
        return dataset_info(name).image_size if name else None
    except UnlearnkitError:
        return None


def transfer_metrics(model: nn.Module, reference: nn.Module | None, downstream: Sequence[str], *, splits=None,
                     feature_layer: str = "penultimate", layers: str = "penultimate", k: int = 5, seed: int = 0,
                     knn_repeats: int = 1, image_size: int | None = None, data_root=None,
                     device="cpu") -> dict[str, float]:
    """Flat metric dict: ``kNN/<set>`` per downstream set, ``kNN`` their mean; with a reference model also
    ``CKA/<set>`` on the downstream sets and on forget / retain / test, and ``CKA`` the downstream mean."""
    names = list(downstream) or list(DEFAULT_DOWNSTREAM)
    if image_size is None and splits is not None:
        image_size = splits.forget.info.image_size
    sets = _downstream_sets(model, names, data_root, image_size)
    out: dict[str, float] = {}
    for n, ds in sets.items():
        out[f"kNN/{n}"] = knn_transfer(model, ds, k=k, seed=seed, repeats=knn_repeats, feature_layer=feature_layer,
                                       device=device)
    out["kNN"] = float(torch.tensor([out[f"kNN/{n}"] for n in sets]).mean())
    if reference is not None:
        own = {f"CKA/{n}": ds for n, ds in sets.items()}
        if splits is not None:
            own.update({"CKA/forget": splits.forget, "CKA/retain": splits.retain, "CKA/test": splits.test})
        for key, ds in own.items():
            out[key] = cka_to_reference(model, reference, ds, layers=layers, device=device)["mean"]
        out["CKA"] = float(torch.tensor([out[f"CKA/{n}"] for n in sets]).mean())
    return out


def knn_models(model_paths: Sequence[str | os.PathLike], downstream: Sequence[str], *, feature_layer="penultimate",
               k: int = 5, seed: int = 0, repeats: int = 1, data_root=None, device=None) -> dict[str, dict[str, float]]:
    """main_knn: k-NN accuracy of each model on each downstream set."""
    dev = resolve_device(device)
    names = list(downstream) or list(DEFAULT_DOWNSTREAM)
    out = {}
    for p in model_paths:
        model, meta = load_model(p)
        sets = _downstream_sets(model, names, data_root, input_size(meta))
        out[str(p)] = {n: knn_transfer(model, ds, k=k, seed=seed, repeats=repeats, feature_layer=feature_layer,
                                       device=dev)
                       for n, ds in sets.items()}
    return out


def cka_models(model_paths: Sequence[str | os.PathLike], retrained_path, downstream: Sequence[str], *,
               layers: str = "penultimate", request_path=None, data_root=None, device=None,
               batch_size: int = 256) -> dict[str, dict[str, dict]]:
    """main_cka: CKA x 100 of each model to the retrained one, per data set (downstream, and forget /
    retain / test when a request is given), per layer plus the layer mean."""
    dev = resolve_device(device)
    reference, _ = load_model(retrained_path)
    names = list(downstream) or list(DEFAULT_DOWNSTREAM)
    extra: dict[str, LabeledDataset] = {}
    if request_path is not None:
        _, _, splits = _context(retrained_path, request_path, data_root, False, device, 0)
        extra = {"forget": splits.forget, "retain": splits.retain, "test": splits.test}
    out = {}
    for p in model_paths:
        model, meta = load_model(p)
        sets = {**_downstream_sets(model, names, data_root, input_size(meta)), **extra}
        out[str(p)] = {n: cka_to_reference(model, reference, ds, layers=layers, device=dev, batch_size=batch_size)
                       for n, ds in sets.items()}
    return out


def read_report(path: str | Path) -> dict:
    """The JSON a ``forget`` run left beside its checkpoint (RTE, params), or {} when there is none."""
    j = Path(path).with_suffix(".json")
    return load_json(j) if j.is_file() else {}


def check_mask(mask_path, model_path) -> None:
    """A SalUn mask must name this model's parameters with their shapes (else the method would fail late)."""
    from unlearnkit.shared.methods import load_mask

    mask = load_mask(mask_path)
    model, _ = load_model(model_path)
    own = dict(model.named_parameters())
    for name, m in (mask.items() if isinstance(mask, dict) else []):
        if name not in own:
            raise UnlearnkitError(f"--mask {mask_path}: parameter {name!r} is not in {model_path}")
        if tuple(getattr(m, "shape", ())) != tuple(own[name].shape):
            raise UnlearnkitError(f"--mask {mask_path}: {name} has shape {tuple(m.shape)}, the model's is "
                                  f"{tuple(own[name].shape)}")


def check_original(model_path, *, dataset: str | None = None, num_classes: int | None = None) -> None:
    """The seed's --dataset / --num-classes flags, kept as consistency checks against the checkpoint."""
    model, meta = load_model(model_path)
    if dataset and meta.get("dataset") not in (None, dataset):
        raise UnlearnkitError(f"{model_path} was trained on {meta.get('dataset')!r}, not {dataset!r}")
    have = model.classifier.out_features
    if num_classes and num_classes != have:
        raise UnlearnkitError(f"{model_path} has {have} classes, not {num_classes}")

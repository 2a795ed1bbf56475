"""The seed's ``main.py`` as a library: original model -> forget request -> Naive PS / PS -> metrics.

Every artefact lives under ``out_dir`` with a name that says what it is (model type, experiment id and the
forget request's checksum), so repeated runs find the original and the retrained model again instead of
training them twice, and never silently overwrite results (``overwrite``). Every flag and input file is
checked, and every output path planned (``unlearnkit.shared.outputs.plan_outputs``), before a model is
loaded or trained.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from unlearnkit.shared.checkpoint import check_same_request, load_model, read_checkpoint, save_model
from unlearnkit.shared.data import ForgetRequest, LabeledDataset, Splits, load_dataset, make_splits
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import save_json
from unlearnkit.shared.metrics import RTEMeter, avg_gap, mia_efficacy, unlearning_accuracies
from unlearnkit.shared.outputs import plan_outputs
from unlearnkit.shared.registry import Registry
from unlearnkit.shared.workflows import resolve_device

from .decomposition import resolve_solver
from .naive import NaivePSParams, init_classifier_weight, naive_prototype_surgery
from .presets import Preset, get_preset
from .ps import PSParams, prototype_surgery
from .stopping import parse_stop_at, stop_target
from .training import train_model

__all__ = ["ExperimentOptions", "Experiment", "METHODS", "run_experiment", "train_original", "evaluate"]


@dataclass
class ExperimentOptions:
    """Everything one experiment depends on; the CLI fills it from flags."""

    model_type: str = "DIGITS"  # the CLI's --data
    expid: int = 0
    seed: int = 0  # the paper used 209 (--seed 209)
    ratio: float = 0.1
    forget_class: int = 1  # the CLI's --classes
    pick: str = "random"
    index_file: str | None = None  # the CLI's --request: a forget request file or a list of indices
    out_dir: str = "runs/ps-unlearn"  # the CLI's --out
    data_root: str | None = None
    download: bool = False
    device: str = "auto"
    overwrite: bool = False
    checkpoint: str | None = None  # original model; default <out_dir>/original_<type>_<expid>.pt
    init: str | None = None  # checkpoint holding W_init, when the original's meta lacks it
    model: str | None = None  # override the preset's model name
    train_epochs: int | None = None
    train_missing: bool = True
    retrain: bool = True
    retrained: str | None = None  # the CLI's --reference
    allow_mismatch: bool = False  # accept a --reference retrained for another forget request
    # Naive PS
    solver: str = "auto"
    # PS
    epochs: int | None = None
    lr: float | None = None
    trainable: str = "layer"
    batch_size: int = 256
    cache_features: bool = True
    stop_at: str = "auto"  # auto | none | a forget accuracy in percent
    mia: bool = True
    progress: bool = True

    @property
    def preset(self) -> Preset:
        return get_preset(self.model_type)

    @property
    def model_seed(self) -> int:
        """Each repeat (``expid``) trains its own original model; the forget request uses ``seed`` alone."""
        return self.seed + self.expid

    def original_path(self) -> Path:
        if self.checkpoint:
            return Path(self.checkpoint)
        return Path(self.out_dir) / f"original_{self.preset.name.lower()}_{self.expid}.pt"


# --- data -------------------------------------------------------------------------------------------------


def load_train_test(opts: ExperimentOptions, augment: bool = False) -> tuple[LabeledDataset, LabeledDataset]:
    p = opts.preset
    kw = {"root": opts.data_root, "download": opts.download, "image_size": p.image_size}
    return load_dataset(p.dataset, "train", augment=augment, **kw), load_dataset(p.dataset, "test", **kw)


def make_request(opts: ExperimentOptions, train: LabeledDataset) -> ForgetRequest:
    if opts.index_file:
        return ForgetRequest.from_file(train, opts.index_file)
    return ForgetRequest.subclass(train, opts.forget_class, opts.ratio, pick=opts.pick, seed=opts.seed)


# --- models -----------------------------------------------------------------------------------------------


def train_original(opts: ExperimentOptions) -> Path:
    """Train the original model for ``opts`` and save it (with its initial prototypes) at the default path."""
    check_options(opts)
    path = opts.original_path()
    plan_outputs({"original model": path}, overwrite=opts.overwrite)
    train, _ = load_train_test(opts, augment=opts.preset.train_augment)
    train_model(
        opts.preset,
        train,
        seed=opts.model_seed,
        epochs=opts.train_epochs,
        model_name=opts.model,
        device=opts.device,
        progress=opts.progress,
        description=f"original {opts.model_type}",
        extra_meta={"expid": opts.expid},
        save_to=path,
    )
    return path


def load_original(opts: ExperimentOptions) -> tuple[nn.Module, dict]:
    path = opts.original_path()
    if not path.exists():
        if opts.checkpoint or not opts.train_missing:
            raise UnlearnkitError(f"original model not found: {path} (train it with `ps-unlearn train`)")
        train_original(opts)
    return load_model(path)


def retrained_reference(
    opts: ExperimentOptions, request: ForgetRequest, model_name: str | None = None
) -> tuple[nn.Module, dict] | None:
    """The gold standard: same model, recipe and initial weights, retain set only. Cached per request."""
    if opts.retrained:
        model, meta = load_model(opts.retrained)
        _check_request(meta, request, opts.retrained, opts.allow_mismatch)
        return model, meta
    if not opts.retrain:
        return None
    path = retrain_path(opts, request)
    if path.exists():
        model, meta = load_model(path)
        _check_request(meta, request, path)
        return model, meta
    train, _ = load_train_test(opts, augment=opts.preset.train_augment)
    keep = np.setdiff1d(np.arange(len(train)), np.asarray(request.indices))
    trained = train_model(
        opts.preset,
        train.subset(keep),
        seed=opts.model_seed,
        epochs=opts.train_epochs,
        model_name=model_name or opts.model,
        device=opts.device,
        progress=opts.progress,
        description="retrain",
        extra_meta={"request_checksum": request.checksum, "expid": opts.expid},
        save_to=path,
    )
    return trained.model, trained.meta


def retrain_path(opts: ExperimentOptions, request: ForgetRequest) -> Path:
    """Where the retrained reference for ``request`` is cached (and found again by later runs)."""
    return Path(opts.out_dir) / f"retrain_{opts.preset.name.lower()}_{opts.expid}_{request.short_id}.pt"


def _check_request(meta: dict, request: ForgetRequest, path, allow_mismatch: bool = False) -> None:
    """A reference retrained for other samples (or an original model) makes every gap meaningless."""
    got = meta.get("request_checksum") or meta.get("request")  # ours / the core's ``unlearnkit train``
    check_same_request({"request": got}, request.checksum, path, allow_mismatch=allow_mismatch, role="--reference")


def resolve_w_init(opts: ExperimentOptions, meta: dict) -> torch.Tensor:
    """W_init from ``--init`` (meta["init_classifier"] or that model's own final layer) or the original's meta."""
    if not opts.init:
        return init_classifier_weight(meta)
    ckpt = read_checkpoint(opts.init)
    if isinstance(ckpt.get("meta", {}).get("init_classifier"), dict):
        return init_classifier_weight(ckpt["meta"])
    weight = ckpt["state_dict"].get("classifier.weight")
    if weight is None:
        raise UnlearnkitError(f"{opts.init} has no classifier.weight to use as initial prototypes")
    return weight


# --- methods ----------------------------------------------------------------------------------------------

Runner = Callable[[nn.Module, Splits, dict, ExperimentOptions], dict]
METHODS: Registry[Runner] = Registry("PS method")


@METHODS.register("naive_ps", aliases=("naive",))
def _run_naive(model: nn.Module, splits: Splits, meta: dict, opts: ExperimentOptions) -> dict:
    w_init = resolve_w_init(opts, meta)
    params = NaivePSParams(solver=opts.solver, batch_size=opts.batch_size)
    return naive_prototype_surgery(model, splits.retain, splits.forget, w_init, params, device=opts.device)


@METHODS.register("ps")
def _run_ps(model: nn.Module, splits: Splits, meta: dict, opts: ExperimentOptions) -> dict:
    target = stop_target(opts.stop_at, model, splits.forget, splits.test, device=opts.device)
    params = ps_params(opts, target)
    return prototype_surgery(model, splits.forget, params, device=opts.device, progress=opts.progress)


def ps_params(opts: ExperimentOptions, target_forget_acc: float | None = None) -> PSParams:
    p = opts.preset
    return PSParams(
        epochs=p.ps_epochs if opts.epochs is None else opts.epochs,  # --epochs 0 is refused, never 50
        lr=p.ps_lr if opts.lr is None else opts.lr,
        batch_size=opts.batch_size,
        trainable=opts.trainable,
        cache_features=opts.cache_features,
        seed=opts.seed,
        target_forget_acc=target_forget_acc,
    )


def _positive(value, flag: str, integer: bool = True) -> None:
    if value is None:
        return
    ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 1) if integer else \
        (isinstance(value, int | float) and math.isfinite(value) and value > 0)
    if not ok:
        raise UnlearnkitError(f"{flag} {value!r} is not allowed: must be {'an integer >= 1' if integer else 'a finite number > 0'}")


def check_options(opts: ExperimentOptions) -> None:
    """The numbers, names and input files of ``opts`` (a library caller gets the CLI's checks too); resolves
    ``device="auto"`` to this machine's device."""
    opts.preset  # noqa: B018 - raises for an unknown model type
    for value, flag in ((opts.epochs, "--epochs"), (opts.train_epochs, "--train-epochs"),
                        (opts.batch_size, "--batch-size")):
        _positive(value, flag)
    _positive(opts.lr, "--lr", integer=False)
    if not (isinstance(opts.ratio, int | float) and 0 < opts.ratio <= 1):
        raise UnlearnkitError(f"--ratio {opts.ratio!r} is not allowed: must be a fraction in (0, 1]")
    if opts.expid < 0 or opts.seed < 0:
        raise UnlearnkitError(f"--expid and --seed must be >= 0, got {opts.expid} and {opts.seed}")
    if opts.pick not in ("random", "last"):
        raise UnlearnkitError(f"--pick {opts.pick!r}: choose random or last")
    for flag, path in (("--checkpoint", opts.checkpoint), ("--init", opts.init), ("--reference", opts.retrained),
                       ("--request", opts.index_file)):
        if path and not Path(path).is_file():
            raise UnlearnkitError(f"{flag} {path}: file not found")
    if Path(opts.out_dir).exists() and not Path(opts.out_dir).is_dir():
        raise UnlearnkitError(f"--out {opts.out_dir} is a file; expected a folder")
    opts.device = str(resolve_device(opts.device))


def validate(opts: ExperimentOptions, methods: Sequence[str]) -> list[str]:
    """Check every flag before anything is loaded or trained, so a typo fails in a second, not an hour."""
    methods = [METHODS.resolve(m) for m in methods]
    check_options(opts)
    if "ps" in methods:
        ps_params(opts).check()
        parse_stop_at(opts.stop_at)
    if "naive_ps" in methods:
        resolve_solver(opts.solver, 1, 1)
    return methods


# --- evaluation -------------------------------------------------------------------------------------------


def evaluate(model: nn.Module, splits: Splits, device="cpu", mia: bool = True, seed: int = 0) -> dict:
    """Forget / retain / test accuracy (and UA = 100 - forget accuracy), MIA-efficacy on the forget set."""
    out = unlearning_accuracies(model, splits, device=device)
    out["forget_acc"] = 100.0 - out["UA"]
    if mia:
        out["MIA"] = mia_efficacy(model, splits.retain, splits.forget, splits.test, device=device, seed=seed)
    return out


@dataclass
class Experiment:
    """What :func:`run_experiment` produced: the metrics table and the files it wrote."""

    results: dict
    results_path: Path
    models: dict[str, nn.Module]


def run_experiment(opts: ExperimentOptions, methods: Sequence[str] = ("naive_ps", "ps")) -> Experiment:
    """Unlearn with each method from the same original model; compare everything with the retrained model."""
    methods = validate(opts, methods)
    train, test = load_train_test(opts)
    request = make_request(opts, train)  # the file names need its checksum; no model is loaded yet
    splits = make_splits(request, train, test)
    tag = f"{opts.preset.name.lower()}_{opts.expid}_{request.short_id}"
    out = Path(opts.out_dir)
    results_path = out / f"results_{'+'.join(methods)}_{tag}.json"
    model_paths = {m: out / f"{m}_{tag}.pt" for m in methods}
    request_path = out / f"request_{tag}.json"
    # Cached artefacts (original, retrained reference, request) are written only when missing, never replaced.
    cached = {"original model": opts.original_path(), "retrained reference": retrain_path(opts, request),
              "request copy": request_path}
    cached = {role: p for role, p in cached.items() if not p.exists()}
    if opts.checkpoint or not opts.train_missing:
        cached.pop("original model", None)
    if opts.retrained or not opts.retrain:
        cached.pop("retrained reference", None)
    plan_outputs({"results": results_path, **{f"{m} model": p for m, p in model_paths.items()}, **cached},
                 inputs={"--checkpoint": opts.checkpoint, "--init": opts.init, "--reference": opts.retrained,
                         "--request": opts.index_file},
                 overwrite=opts.overwrite)
    if opts.retrained:  # a reference for another request is refused before any work
        _check_request(read_checkpoint(opts.retrained).get("meta", {}), request, opts.retrained,
                       opts.allow_mismatch)

    original, meta = load_original(opts)
    if meta.get("dataset") not in (None, train.info.name):
        raise UnlearnkitError(
            f"the original model was trained on {meta['dataset']!r}, not {train.info.name!r}"
        )
    if "naive_ps" in methods:
        resolve_w_init(opts, meta)  # a missing or damaged W_init fails before anything is written
    if not request_path.exists():
        request.save(request_path)

    rows: dict[str, dict] = {"original": evaluate(original, splits, opts.device, opts.mia, opts.seed)}
    reference = retrained_reference(opts, request, getattr(original, "model_config", {}).get("name"))
    if reference is not None:
        rows["retrain"] = evaluate(reference[0], splits, opts.device, opts.mia, opts.seed)
        ref_meta = reference[1]
        rows["retrain"]["seconds"] = float(
            ref_meta.get("train_seconds", ref_meta.get("seconds", float("nan")))
        )
    models: dict[str, nn.Module] = {}
    for name in methods:
        model = copy.deepcopy(original)
        with RTEMeter(opts.device) as meter:
            info = METHODS.get(name)(model, splits, meta, opts)
        save_model(
            model_paths[name],
            model,
            meta={**_light(meta), "method": name, "info": info, "request_checksum": request.checksum},
        )
        rows[name] = {
            **evaluate(model, splits, opts.device, opts.mia, opts.seed),
            **meter.as_dict(),
            "info": info,
        }
        models[name] = model
    if "retrain" in rows:
        for name, row in rows.items():
            if name != "retrain":
                row["avg_gap"] = avg_gap(row, rows["retrain"])
                if "seconds" in row and name in methods:
                    row["speedup_vs_retrain"] = rows["retrain"]["seconds"] / max(row["seconds"], 1e-9)
    results = {
        "options": asdict(opts),
        "request": {k: v for k, v in request.to_dict().items() if k != "indices"},
        "num_forget": len(splits.forget),
        "methods": rows,
        "files": {"request": str(request_path), **{m: str(p) for m, p in model_paths.items()}},
    }
    save_json(results_path, results)
    return Experiment(results, results_path, models)


def _light(meta: dict) -> dict:
    """The original's meta without its training history (kept small in derived checkpoints)."""
    return {k: v for k, v in meta.items() if k not in ("history",)}

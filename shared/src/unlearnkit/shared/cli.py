"""The ``unlearnkit`` command: train, make forget requests, retrain, unlearn, evaluate, bench.

Every command is a few lines over a library function (``unlearnkit.shared.workflows`` / ``.bench``): it checks
its outputs against its inputs (``outputs.plan_outputs``) and the device before any work, then calls it.
Options come from the one vocabulary (``cli_options``, docs/cli.md); earlier flag names are hidden aliases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli_options import (
    batch_size_option,
    check_fraction,
    check_nonneg_float,
    check_nonneg_int,
    check_positive_float,
    check_positive_int,
    check_unit_interval,
    checkpoint_option,
    classes_option,
    data_option,
    data_root_option,
    device_option,
    download_option,
    epochs_option,
    lr_option,
    model_option,
    out_option,
    overwrite_option,
    param_option,
    path_option,
    quiet_option,
    request_option,
    seed_option,
    threads_option,
)
from .cli_utils import echo_json, flag_aliases, make_app, parse_int_list, run_app

app = make_app("unlearnkit", "Machine unlearning for vision models: train, forget, retrain, compare.\n\n"
               "Start with `unlearnkit train` (digits, offline) then `unlearnkit bench`.")

DataOpt = Annotated[str, data_option()]
RootOpt = Annotated[Path | None, data_root_option()]
DownloadOpt = Annotated[bool, download_option()]
DeviceOpt = Annotated[str, device_option()]
OverwriteOpt = Annotated[bool, overwrite_option()]
QuietOpt = Annotated[bool, quiet_option()]
RequestOpt = Annotated[Path, request_option()]
ReferenceOpt = Annotated[Path | None, path_option(
    "--reference", "Model retrained for the same request (gold standard): adds the Avg. Gap to it.")]
MismatchOpt = Annotated[bool, typer.Option(
    "--allow-mismatch", help="Compare with a --reference made for another forget request anyway.")]
ModelFileAliases = {"--model": "--checkpoint", "-m": "--checkpoint"}


def _start(device: str, quiet: bool) -> None:
    """Checks every command makes before loading anything: the device exists; --quiet silences bars."""
    from .progress import set_quiet
    from .workflows import resolve_device

    resolve_device(device)
    set_quiet(quiet)


def _train_config(data: str, epochs, batch_size, lr, optimizer, weight_decay, schedule, warmup_epochs,
                  label_smoothing, seed, deterministic):
    from .workflows import default_config

    return default_config(data, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                          weight_decay=weight_decay, schedule=schedule, warmup_epochs=warmup_epochs,
                          label_smoothing=label_smoothing, seed=seed, deterministic=deterministic or None)


def _summary(meta: dict, out: Path, already: bool = False) -> None:
    if already:
        typer.echo(f"{out} is already complete with these settings: nothing to do "
                   f"(test accuracy {meta['test_acc']:.2f}%)")
        return
    typer.echo(f"test accuracy {meta['test_acc']:.2f}% after {meta['train_config']['epochs']} epochs "
               f"in {meta['seconds']:.1f}s -> {out}")


@app.command()
def train(
    out: Annotated[Path, out_option("Checkpoint to write (written when training completes; epochs go to "
                                    "<out>.partial, the epoch log to <out> with .log.jsonl).")] = Path(
        "runs/original.pt"),
    data: DataOpt = "digits",
    model: Annotated[str, model_option()] = "lenet5",
    epochs: Annotated[int | None, epochs_option("Epochs (>= 1; default: the data set's recipe).")] = None,
    batch_size: Annotated[int | None, batch_size_option("Global batch size (>= 1).")] = None,
    lr: Annotated[float | None, lr_option()] = None,
    optimizer: Annotated[str | None, typer.Option(help="sgd, adam or adamw.")] = None,
    weight_decay: Annotated[float | None, typer.Option(help="Weight decay (>= 0).",
                                                       callback=check_nonneg_float)] = None,
    schedule: Annotated[str | None, typer.Option(help="cosine, multistep or constant.")] = None,
    warmup_epochs: Annotated[int | None, typer.Option(help="Linear warm-up epochs (>= 0).",
                                                      callback=check_nonneg_int)] = None,
    label_smoothing: Annotated[float | None, typer.Option(help="Label smoothing, in [0, 1).",
                                                          callback=check_unit_interval)] = None,
    augment: Annotated[bool, typer.Option(help="Random crops (and flips where valid).")] = False,
    seed: Annotated[int, seed_option("Seed of initialisation and data order (>= 0).")] = 0,
    deterministic: Annotated[bool, typer.Option(help="Deterministic kernels (slower on GPU).")] = False,
    resume: Annotated[bool, typer.Option(help="Continue a killed run with the same settings (<out>.partial).")
                      ] = False,
    threads: Annotated[int | None, threads_option(
        "torch CPU threads (>= 1; default: 1 for small models on the CPU, else one per core).")] = None,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
):
    """Train the ORIGINAL model (runs under `torchrun --nproc-per-node N` unchanged)."""
    from . import distributed as dist
    from .threads import apply_threads, choose_threads
    from .workflows import load_data, plan_training, train_model

    plan_training(out, resume=resume, overwrite=overwrite)
    _start(device, quiet)
    apply_threads(choose_threads(threads, device, model))
    cfg = _train_config(data, epochs, batch_size, lr, optimizer, weight_decay, schedule, warmup_epochs,
                        label_smoothing, seed, deterministic)
    dist.init_distributed()
    bundle = load_data(data, data_root, download, augment=augment)
    _, meta, result = train_model(bundle, model, cfg, out, device=device, resume=resume, overwrite=overwrite,
                                  progress=False if quiet else None)
    if dist.is_main():
        _summary(meta, out, result.already_complete)
    dist.cleanup()


@app.command()
def request(
    out: Annotated[Path, out_option("Request file (JSON) to write.")],
    kind: Annotated[str, typer.Option(help="class, random, subclass or indices.")] = "class",
    classes: Annotated[str | None, classes_option("Class ids, e.g. '3' or '3,5' (class, subclass).")] = None,
    fraction: Annotated[float | None, typer.Option(help="Fraction in (0, 1] (random, subclass).",
                                                   callback=check_fraction)] = None,
    count: Annotated[int | None, typer.Option(help="Number of samples (random; >= 1).",
                                              callback=check_positive_int)] = None,
    pick: Annotated[str, typer.Option(help="random or last (subclass).")] = "random",
    index_file: Annotated[Path | None, typer.Option(help="Indices file (indices): JSON list or text.")] = None,
    seed: Annotated[int, seed_option("Seed of random draws (>= 0).")] = 0,
    data: DataOpt = "digits",
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    overwrite: OverwriteOpt = False,
):
    """Make a FORGET REQUEST: which training samples to forget, saved with a checksum."""
    from .outputs import check_output_file
    from .requests_cli import build_request

    check_output_file(out, overwrite, inputs={"--index-file": index_file})
    req = build_request(data, kind, parse_int_list(classes), fraction, count, pick, index_file, seed, data_root,
                        download)
    req.save(out, overwrite=overwrite)
    typer.echo(f"{req.describe()} -> {out}")


@app.command()
@flag_aliases({"--original": "--checkpoint"})
def retrain(
    request_path: RequestOpt,
    out: Annotated[Path, out_option("Checkpoint to write (as for `train`, also <out>.partial and a .log.jsonl "
                                    "while training).")] = Path("runs/retrained.pt"),
    original: Annotated[Path | None, checkpoint_option(
        "The ORIGINAL checkpoint: the retrain reuses its model, data set and recipe.")] = None,
    data: DataOpt = "digits",
    model: Annotated[str, model_option("Architecture when no --checkpoint is given.")] = "lenet5",
    epochs: Annotated[int | None, epochs_option("Epochs (>= 1; default: the original's / the recipe).")] = None,
    seed: Annotated[int, seed_option()] = 0,
    resume: Annotated[bool, typer.Option(help="Continue a killed run with the same settings and request.")
                      ] = False,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
):
    """RETRAIN from scratch on the retain set only: the gold standard every method is compared with."""
    from . import distributed as dist
    from .workflows import plan_training, retrain_from_request

    plan_training(out, resume=resume, overwrite=overwrite, inputs={"--request": request_path, "--checkpoint": original})
    _start(device, quiet)
    dist.init_distributed()
    meta = retrain_from_request(request_path, out, original=original, data=data, model=model, epochs=epochs,
                                seed=seed, resume=resume, data_root=data_root, download=download, device=device,
                                overwrite=overwrite, progress=False if quiet else None)
    if dist.is_main():
        _summary(meta, out, meta.get("already_complete", False))
    dist.cleanup()


@app.command()
@flag_aliases(ModelFileAliases)
def unlearn(
    method: Annotated[str, typer.Option(help="Method name (see `unlearnkit methods`).")],
    model_path: Annotated[Path, checkpoint_option("The ORIGINAL checkpoint to unlearn from.")],
    request_path: RequestOpt,
    out: Annotated[Path, out_option("Unlearned checkpoint to write; its JSON report goes beside it "
                                    "(<out> with .json).")],
    param: Annotated[list[str] | None, param_option("Method hyper-parameter key=value, typed by the method "
                                                    "(repeatable; see `unlearnkit methods`).")] = None,
    reference: ReferenceOpt = None,
    allow_mismatch: MismatchOpt = False,
    seed: Annotated[int, seed_option()] = 0,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
):
    """UNLEARN with one method and report UA / RA / TA / MIA / RTE (JSON beside the checkpoint)."""
    from .workflows import unlearn_and_evaluate

    _start(device, quiet)
    report = unlearn_and_evaluate(method, model_path, request_path, out, params=_params(param), reference=reference,
                                  seed=seed, data_root=data_root, download=download, device=device,
                                  overwrite=overwrite, allow_mismatch=allow_mismatch)
    echo_json(report)


@app.command("evaluate")
@flag_aliases(ModelFileAliases)
def evaluate_cmd(
    model_path: Annotated[Path, checkpoint_option("Checkpoint to evaluate.")],
    request_path: RequestOpt,
    reference: ReferenceOpt = None,
    allow_mismatch: MismatchOpt = False,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
):
    """EVALUATE a checkpoint on a forget request: UA, RA, TA, MIA (and Avg. Gap to --reference)."""
    from .workflows import evaluate_checkpoint

    _start(device, quiet)
    echo_json(evaluate_checkpoint(model_path, request_path, reference=reference, data_root=data_root,
                                  download=download, device=device, allow_mismatch=allow_mismatch))


def _params(items: list[str] | None, nested: bool = False) -> dict:
    from .cli_options import parse_key_values

    return parse_key_values(items, nested)


ThreadsOpt = Annotated[int | None, threads_option(
    "torch CPU threads (>= 1; default: 1 for small models on the CPU, else one per core).")]


@app.command()
def bench(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (resumable cache inside).")] = Path(
        "bench-out"),
    methods: Annotated[str | None, typer.Option(help="Comma-separated methods (default: all that apply).")] = None,
    request_specs: Annotated[list[str] | None, typer.Option(
        "--request", help="class:3, random:0.1, subclass:1:0.1[:last], indices:FILE or a request .json "
        "(repeatable; default: class:3 and random:0.1).")] = None,
    data: DataOpt = "digits",
    model: Annotated[str, typer.Option(help="Model name.")] = "lenet5",
    seeds: Annotated[int, typer.Option(help="Repeat original, retrain and every method with N seeds (>= 1); "
                                            "report mean ± std.", callback=check_positive_int)] = 3,
    seed: Annotated[int, seed_option("First seed (>= 0).")] = 0,
    epochs: Annotated[int | None, epochs_option("Epochs of the original / retrained models (>= 1).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="method.key=value (repeatable; "
                                                    "overrides the data set's tuned presets).")] = None,
    no_presets: Annotated[bool, typer.Option("--no-presets", help="Use the methods' own defaults, not the "
                                             "tuned presets.")] = False,
    no_mia: Annotated[bool, typer.Option("--no-mia", help="Skip the MIA-efficacy metric.")] = False,
    ulira: Annotated[int, typer.Option(help="U-LiRA per-example attack with N shadow originals and N shadow "
                                            "retrains per request (opt-in: costs 2N extra trainings).")] = 0,
    threads: ThreadsOpt = None,
    jobs: Annotated[int | None, typer.Option(help="Runs at a time, each its own process (default: cores / "
                                                  "threads on CPU, 1 on GPU).", callback=check_positive_int)] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per method run before it is stopped.",
                                                  callback=check_positive_float)] = None,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    overwrite: Annotated[bool, overwrite_option("Write into an --out folder that is not a bench folder (a bench "
                                                "folder is resumed without it).")] = False,
):
    """BENCH every registered method (all installed packages) on the same requests against retrain."""
    from .bench import BenchConfig, print_tables, run_bench
    from .bench.requests import DEFAULT_REQUESTS

    cfg = BenchConfig(data=data, model=model, requests=tuple(request_specs or DEFAULT_REQUESTS),
                      methods=tuple(m.strip() for m in methods.split(",")) if methods else None, seeds=seeds,
                      seed=seed, device=device, out_dir=str(out), data_root=str(data_root) if data_root else None,
                      download=download, train={"epochs": epochs} if epochs else {},
                      params=_params(param, nested=True), presets=not no_presets, mia=not no_mia, ulira=ulira,
                      threads=threads, jobs=jobs, timeout=timeout, overwrite=overwrite)
    results = run_bench(cfg, log=lambda msg: typer.echo(msg, err=True))
    print_tables(results)
    typer.echo(f"results: {out}/results.json, results.csv, results.md, results.png")


@app.command()
def tune(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder: tune.json (chosen values + grid) and a cache.")
                   ] = Path("tune-out"),
    methods: Annotated[str | None, typer.Option(help="Comma-separated methods (default: all that apply).")] = None,
    request_specs: Annotated[list[str] | None, typer.Option(
        "--request", help="Requests to tune for, one per kind (default: class:3 and random:0.1).")] = None,
    data: DataOpt = "digits",
    model: Annotated[str, typer.Option(help="Model name.")] = "lenet5",
    seed: Annotated[int, seed_option("Seed of the original and the runs (>= 0).")] = 0,
    seeds: Annotated[int, typer.Option(help="Evaluate every grid point with N seeds (each its own original) and "
                                            "apply the rule to the mean; a point failing on any seed is out.",
                                       callback=check_positive_int)] = 1,
    epochs: Annotated[int | None, epochs_option("Epochs of the original model (>= 1).")] = None,
    grid: Annotated[Path | None, typer.Option(help="JSON: method -> {param: list of values} (default: built-in).")
                    ] = None,
    threads: ThreadsOpt = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per run before it is stopped.",
                                                  callback=check_positive_float)] = None,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    overwrite: Annotated[bool, overwrite_option("Write into an --out folder that is not a tune folder (a tune "
                                                "folder is resumed without it).")] = False,
):
    """TUNE each method's defaults per request kind without ever looking at a retrained model."""
    from .bench.tune import TuneConfig, load_grid, tune_methods

    cfg = TuneConfig(data=data, model=model, requests=tuple(request_specs) if request_specs else None,
                     methods=tuple(m.strip() for m in methods.split(",")) if methods else None, seed=seed,
                     seeds=seeds, device=device, out_dir=str(out), data_root=str(data_root) if data_root else None,
                     download=download, train={"epochs": epochs} if epochs else {},
                     grids=load_grid(grid) if grid else None, threads=threads, timeout=timeout,
                     overwrite=overwrite)
    result = tune_methods(cfg, log=lambda msg: typer.echo(msg, err=True))
    for method, kinds in result["chosen"].items():
        for kind, choice in kinds.items():
            flag = "" if choice["meets_rule"] else "  (no grid point meets the rule)"
            typer.echo(f"{method:12s} {kind:8s} {choice['params']}{flag}")
    typer.echo(f"results: {out}/tune.json")


@app.command("methods")
def methods_cmd():
    """List the unlearning methods of every installed package."""
    from .methods import list_methods

    for spec in list_methods():
        first = (spec.description or "").strip().splitlines()[0] if spec.description else ""
        typer.echo(f"{spec.name:14s} {spec.package:26s} {first}")


@app.command("datasets")
def datasets_cmd():
    """List the registered data sets."""
    from .data import DATASETS

    for name, entry in DATASETS.items():
        typer.echo(f"{name:22s} {entry.info.num_classes or '-':>5} classes  {entry.description}")


@app.command("models")
def models_cmd():
    """List the registered models."""
    from .models import list_models

    for name in list_models():
        typer.echo(name)


def main() -> None:
    from .threads import quiet_openmp

    quiet_openmp()  # before torch is imported: idle OpenMP threads must not spin on a shared machine
    run_app(app)


if __name__ == "__main__":
    main()

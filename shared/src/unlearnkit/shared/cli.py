"""The ``unlearnkit`` command: train, make forget requests, retrain, unlearn, evaluate, bench.

Every command is a few lines over a library function (``unlearnkit.shared.workflows`` / ``.bench``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli_utils import echo_json, make_app, parse_int_list, run_app

app = make_app("unlearnkit", "Machine unlearning for vision models: train, forget, retrain, compare.\n\n"
               "Start with `unlearnkit train` (digits, offline) then `unlearnkit bench`.")

DataOpt = Annotated[str, typer.Option("--data", help="Data set name (see `unlearnkit datasets`).")]
RootOpt = Annotated[Path | None, typer.Option("--data-root", help="Folder holding the data set files.")]
DownloadOpt = Annotated[bool, typer.Option("--download", help="Download the data set if missing (network).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:N or auto.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")]


def _train_config(data: str, epochs, batch_size, lr, optimizer, weight_decay, schedule, warmup_epochs,
                  label_smoothing, seed, deterministic):
    from .workflows import default_config

    return default_config(data, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                          weight_decay=weight_decay, schedule=schedule, warmup_epochs=warmup_epochs,
                          label_smoothing=label_smoothing, seed=seed, deterministic=deterministic or None)


def _summary(meta: dict, out: Path) -> None:
    typer.echo(f"test accuracy {meta['test_acc']:.2f}% after {meta['train_config']['epochs']} epochs "
               f"in {meta['seconds']:.1f}s -> {out}")


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint to write.")] = Path("runs/original.pt"),
    data: DataOpt = "digits",
    model: Annotated[str, typer.Option(help="Model name (see `unlearnkit models`).")] = "lenet5",
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: the data set's recipe).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Global batch size.")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    optimizer: Annotated[str | None, typer.Option(help="sgd, adam or adamw.")] = None,
    weight_decay: Annotated[float | None, typer.Option(help="Weight decay.")] = None,
    schedule: Annotated[str | None, typer.Option(help="cosine, multistep or constant.")] = None,
    warmup_epochs: Annotated[int | None, typer.Option(help="Linear warm-up epochs.")] = None,
    label_smoothing: Annotated[float | None, typer.Option(help="Label smoothing.")] = None,
    augment: Annotated[bool, typer.Option(help="Random crops (and flips where valid).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of initialisation and data order.")] = 0,
    deterministic: Annotated[bool, typer.Option(help="Deterministic kernels (slower on GPU).")] = False,
    resume: Annotated[bool, typer.Option(help="Continue a killed run from its checkpoint.")] = False,
    threads: Annotated[int | None, typer.Option(
        help="torch CPU threads (default: 1 for small models on the CPU, else one per core).")] = None,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
):
    """Train the ORIGINAL model (runs under `torchrun --nproc-per-node N` unchanged)."""
    from . import distributed as dist
    from .threads import apply_threads, choose_threads
    from .workflows import load_data, train_model

    apply_threads(choose_threads(threads, device, model))
    dist.init_distributed()
    cfg = _train_config(data, epochs, batch_size, lr, optimizer, weight_decay, schedule, warmup_epochs,
                        label_smoothing, seed, deterministic)
    bundle = load_data(data, data_root, download, augment=augment)
    _, meta, _ = train_model(bundle, model, cfg, out, device=device, resume=resume, overwrite=overwrite)
    if dist.is_main():
        _summary(meta, out)
    dist.cleanup()


@app.command()
def request(
    out: Annotated[Path, typer.Option("--out", "-o", help="Request file (JSON) to write.")],
    kind: Annotated[str, typer.Option(help="class, random, subclass or indices.")] = "class",
    classes: Annotated[str | None, typer.Option(help="Class ids, e.g. '3' or '3,5' (class, subclass).")] = None,
    fraction: Annotated[float | None, typer.Option(help="Fraction in (0, 1] (random, subclass).")] = None,
    count: Annotated[int | None, typer.Option(help="Number of samples (random).")] = None,
    pick: Annotated[str, typer.Option(help="random or last (subclass).")] = "random",
    index_file: Annotated[Path | None, typer.Option(help="Indices file (indices): JSON list or text.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of random draws.")] = 0,
    data: DataOpt = "digits",
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    overwrite: OverwriteOpt = False,
):
    """Make a FORGET REQUEST: which training samples to forget, saved with a checksum."""
    from .io import check_writable
    from .requests_cli import build_request

    check_writable(out, overwrite)
    req = build_request(data, kind, parse_int_list(classes), fraction, count, pick, index_file, seed, data_root,
                        download)
    req.save(out, overwrite=overwrite)
    typer.echo(f"{req.describe()} -> {out}")


@app.command()
def retrain(
    request_path: Annotated[Path, typer.Option("--request", "-r", help="Forget request file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint to write.")] = Path("runs/retrained.pt"),
    original: Annotated[Path | None, typer.Option(help="Original checkpoint: reuse its model and recipe.")] = None,
    data: DataOpt = "digits",
    model: Annotated[str, typer.Option(help="Model name when no --original is given.")] = "lenet5",
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: the original's / the recipe).")] = None,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue a killed run.")] = False,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
):
    """RETRAIN from scratch on the retain set only: the gold standard every method is compared with."""
    from . import distributed as dist
    from .workflows import retrain_from_request

    dist.init_distributed()
    meta = retrain_from_request(request_path, out, original=original, data=data, model=model, epochs=epochs,
                                seed=seed, resume=resume, data_root=data_root, download=download, device=device,
                                overwrite=overwrite)
    if dist.is_main():
        _summary(meta, out)
    dist.cleanup()


@app.command()
def unlearn(
    method: Annotated[str, typer.Option(help="Method name (see `unlearnkit methods`).")],
    model_path: Annotated[Path, typer.Option("--model", "-m", help="Original checkpoint.")],
    request_path: Annotated[Path, typer.Option("--request", "-r", help="Forget request file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Unlearned checkpoint to write.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Hyper-parameter key=value.")] = None,
    reference: Annotated[Path | None, typer.Option(help="Retrained checkpoint for the Avg. Gap.")] = None,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
):
    """UNLEARN with one method and report UA / RA / TA / MIA / RTE (JSON beside the checkpoint)."""
    from .workflows import unlearn_and_evaluate

    report = unlearn_and_evaluate(method, model_path, request_path, out, params=_params(param), reference=reference,
                                  seed=seed, data_root=data_root, download=download, device=device,
                                  overwrite=overwrite)
    echo_json(report)


@app.command("evaluate")
def evaluate_cmd(
    model_path: Annotated[Path, typer.Option("--model", "-m", help="Checkpoint to evaluate.")],
    request_path: Annotated[Path, typer.Option("--request", "-r", help="Forget request file.")],
    reference: Annotated[Path | None, typer.Option(help="Retrained checkpoint for the Avg. Gap.")] = None,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
):
    """EVALUATE a checkpoint on a forget request: UA, RA, TA, MIA (and Avg. Gap to --reference)."""
    from .workflows import evaluate_checkpoint

    echo_json(evaluate_checkpoint(model_path, request_path, reference=reference, data_root=data_root,
                                  download=download, device=device))


def _params(items: list[str] | None, nested: bool = False) -> dict:
    from .cli_options import parse_key_values

    return parse_key_values(items, nested)


ThreadsOpt = Annotated[int | None, typer.Option(
    help="torch CPU threads (default: 1 for small models on the CPU, else one per core).")]


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
    seeds: Annotated[int, typer.Option(help="Repeat original, retrain and every method with N seeds; "
                                            "report mean ± std.")] = 3,
    seed: Annotated[int, typer.Option(help="First seed.")] = 0,
    epochs: Annotated[int | None, typer.Option(help="Epochs of the original / retrained models.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="method.key=value (repeatable; "
                                                    "overrides the data set's tuned presets).")] = None,
    no_presets: Annotated[bool, typer.Option("--no-presets", help="Use the methods' own defaults, not the "
                                             "tuned presets.")] = False,
    no_mia: Annotated[bool, typer.Option("--no-mia", help="Skip the MIA-efficacy metric.")] = False,
    ulira: Annotated[int, typer.Option(help="U-LiRA per-example attack with N shadow originals and N shadow "
                                            "retrains per request (opt-in: costs 2N extra trainings).")] = 0,
    threads: ThreadsOpt = None,
    jobs: Annotated[int | None, typer.Option(help="Runs at a time, each its own process (default: cores / "
                                                  "threads on CPU, 1 on GPU).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per method run before it is stopped.")] = None,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
):
    """BENCH every registered method (all installed packages) on the same requests against retrain."""
    from .bench import BenchConfig, print_tables, run_bench
    from .bench.requests import DEFAULT_REQUESTS

    cfg = BenchConfig(data=data, model=model, requests=tuple(request_specs or DEFAULT_REQUESTS),
                      methods=tuple(m.strip() for m in methods.split(",")) if methods else None, seeds=seeds,
                      seed=seed, device=device, out_dir=str(out), data_root=str(data_root) if data_root else None,
                      download=download, train={"epochs": epochs} if epochs else {},
                      params=_params(param, nested=True), presets=not no_presets, mia=not no_mia, ulira=ulira,
                      threads=threads, jobs=jobs, timeout=timeout)
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
    seed: Annotated[int, typer.Option(help="Seed of the original and the runs.")] = 0,
    epochs: Annotated[int | None, typer.Option(help="Epochs of the original model.")] = None,
    grid: Annotated[Path | None, typer.Option(help="JSON: method -> {param: list of values} (default: built-in).")
                    ] = None,
    threads: ThreadsOpt = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds per run before it is stopped.")] = None,
    data_root: RootOpt = None,
    download: DownloadOpt = False,
    device: DeviceOpt = "auto",
):
    """TUNE each method's defaults per request kind without ever looking at a retrained model."""
    from .bench.tune import TuneConfig, load_grid, tune_methods

    cfg = TuneConfig(data=data, model=model, requests=tuple(request_specs) if request_specs else None,
                     methods=tuple(m.strip() for m in methods.split(",")) if methods else None, seed=seed,
                     device=device, out_dir=str(out), data_root=str(data_root) if data_root else None,
                     download=download, train={"epochs": epochs} if epochs else {},
                     grids=load_grid(grid) if grid else None, threads=threads, timeout=timeout)
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

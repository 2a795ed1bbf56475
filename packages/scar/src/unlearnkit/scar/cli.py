"""``scar``: the published SCAR workflow on the command line (each command wraps one library function).

Flags follow unlearnkit's vocabulary (docs/cli.md); the published ``main.py`` names (``--bsize``,
``--dataset``, ``--class``, ``--original``, ``--oracle``, ``--lambda_1``) stay as hidden aliases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from unlearnkit.shared.cli_options import (
    batch_size_option,
    check_fraction,
    check_nonneg_float,
    check_nonneg_int,
    check_positive_float,
    check_positive_int,
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
    parse_key_values,
    path_option,
    quiet_option,
    request_option,
    seed_option,
)
from unlearnkit.shared.cli_utils import flag_aliases, make_app, parse_int_list, run_app
from unlearnkit.shared.typed import coerce_fields

from . import workflow
from .params import ScarParams

app = make_app(
    "scar",
    "SCAR (ECCV 2024): unlearning without the retain set, by pushing forget embeddings to other classes "
    "(Mahalanobis) and distilling the original on out-of-distribution surrogate images.\n\n"
    "Workflow: train-original -> sample-forget (HR only) -> train-oracle (optional) -> surrogate (optional) "
    "-> unlearn. Everything runs offline on the bundled digits data set by default.",
    dist="unlearnkit-scar",
)
console = Console()

DataRoot = Annotated[Path | None, data_root_option()]
Download = Annotated[bool, download_option()]
Device = Annotated[str, device_option()]
Overwrite = Annotated[bool, overwrite_option()]
Seed = Annotated[int, seed_option()]
Quiet = Annotated[bool, quiet_option()]
Data = Annotated[str, data_option("Registered data set (digits, cifar10, cifar100, ...).")]
Classes = Annotated[str | None, classes_option("CR: class(es) to forget, e.g. 3 or 3,5.")]
Request = Annotated[Path | None, request_option("HR: forget request file from `scar sample-forget`.")]
Original = Annotated[Path, checkpoint_option("The original model checkpoint (gives model, data set and recipe).")]
Mode = Annotated[str, typer.Option("--mode", help="CR (class removal) or HR (random removal).")]

# The published scripts' flag names, accepted but not shown.
DATA_ALIASES = {"--dataset": "--data"}
REQUEST_ALIASES = {"--class": "--classes", "--original": "--checkpoint"}


def _str(p: Path | None) -> str | None:
    return None if p is None else str(p)


def _show(title: str, summary: dict, quiet: bool = False) -> None:
    if quiet:
        return
    table = Table(title=title)
    table.add_column("key")
    table.add_column("value")
    for k, v in summary.items():
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    console.print(table)


@app.command("train-original")
@flag_aliases(DATA_ALIASES)
def train_original_cmd(
    out: Annotated[Path, out_option("Checkpoint to write.")] = Path("original.pt"),
    data: Data = "digits",
    model: Annotated[str, model_option("Registered model (lenet5, resnet18, resnet20, ...).")] = "lenet5",
    recipe: Annotated[str, typer.Option("--recipe", help="core (fast per-data-set default) or paper (SGD 0.1, wd "
                                        "5e-5, label smoothing 0.4, batch 256, 50 epochs, cosine).")] = "core",
    stem: Annotated[str | None, typer.Option("--stem", help="ResNet-18 stem: imagenet or cifar (3x3, no "
                                             "max-pool).")] = None,
    epochs: Annotated[int | None, epochs_option("Override the recipe's epochs (>= 1).")] = None,
    seed: Seed = 0, data_root: DataRoot = None, download: Download = False, device: Device = "auto",
    overwrite: Overwrite = False, quiet: Quiet = False,
) -> None:
    """Train the original model on the whole training set (the published training_original.py)."""
    if stem is not None and stem not in ("imagenet", "cifar"):
        raise typer.BadParameter(f"{stem!r} is not allowed: choose imagenet or cifar", param_hint="--stem")
    kw = {"stem": stem} if stem else None
    _show("original", workflow.train_original(data, out, model=model, recipe_name=recipe, epochs=epochs, seed=seed,
                                              data_root=_str(data_root), download=download, device=device,
                                              overwrite=overwrite, progress=not quiet, model_kwargs=kw), quiet)


@app.command("sample-forget")
@flag_aliases(DATA_ALIASES)
def sample_forget_cmd(
    out: Annotated[Path, out_option("Forget request (JSON) to write.")] = Path("forget_hr.json"),
    data: Data = "digits",
    count: Annotated[int | None, typer.Option("--count", callback=check_positive_int, help="Samples to forget "
                     "(default 5,000 for CIFAR, 10,000 for Tiny ImageNet, 10% otherwise).")] = None,
    seed: Seed = 0, data_root: DataRoot = None, download: Download = False, overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """HR: draw the seeded random forget set (the published sample_fgt_samples.py)."""
    _show("forget request", workflow.sample_forget(data, out, count=count, seed=seed, data_root=_str(data_root),
                                                   download=download, overwrite=overwrite), quiet)


@app.command("train-oracle")
@flag_aliases(REQUEST_ALIASES)
def train_oracle_cmd(
    checkpoint: Original = Path("original.pt"),
    out: Annotated[Path, out_option("Retrained checkpoint to write.")] = Path("oracle.pt"),
    mode: Mode = "CR", classes: Classes = None, request: Request = None,
    seed: Seed = 0, data_root: DataRoot = None, download: Download = False, device: Device = "auto",
    overwrite: Overwrite = False, quiet: Quiet = False,
) -> None:
    """Retrain on the retain set only (the published training_oracle.py): the gold standard."""
    _show("oracle", workflow.train_oracle(checkpoint, out, mode=mode, classes=parse_int_list(classes),
                                          request_path=_str(request), seed=seed, data_root=_str(data_root),
                                          download=download, device=device, overwrite=overwrite,
                                          progress=not quiet), quiet)


@app.command("surrogate")
def surrogate_cmd(
    source: Annotated[str, typer.Argument(help="Image folder, or webdataset shards ('shards-{000..009}.tar').")],
    out: Annotated[Path, out_option("Folder to fill with class_0, class_1, ... chunks (merged, never "
                                    "emptied).")] = Path("surrogate"),
    image_size: Annotated[int, typer.Option("--image-size", callback=check_positive_int,
                                            help="Model input size the images are resized to (>= 1).")] = 32,
    chunk_size: Annotated[int, typer.Option("--chunk-size", callback=check_positive_int,
                                            help="Images per chunk folder (>= 1).")] = 1000,
    count: Annotated[int, typer.Option("--count", callback=check_positive_int,
                                       help="Images to sample in total (>= 1).")] = 10_000,
    seed: Seed = 0, overwrite: Overwrite = False, quiet: Quiet = False,
) -> None:
    """Organise any image collection into surrogate chunk folders (the published organize_surrogate_data.py).

    Corrupt images, decompression bombs and truncated shards are skipped and counted in the summary.
    """
    from .organise import organise_surrogate

    m = organise_surrogate(source, out, image_size=image_size, chunk_size=chunk_size, count=count, seed=seed,
                           overwrite=overwrite, progress=not quiet)
    summary = {k: v for k, v in m.items() if k not in ("images", "skipped")} | {"out": str(out)}
    _show("surrogate", summary, quiet)
    if m["skipped"]["summary"]:
        typer.echo(m["skipped"]["summary"], err=True)


def scar_params(param: list[str] | None = None, **flags) -> ScarParams:
    """``ScarParams`` from the flags, then typed ``--param key=value`` overrides (checked by ScarParams)."""
    overrides = coerce_fields(ScarParams, parse_key_values(param), owner="scar")
    return ScarParams(**{**flags, **overrides})


@app.command("unlearn")
@flag_aliases({**REQUEST_ALIASES, "--oracle": "--reference", "--bsize": "--batch-size", "--lambda_1": "--lambda-1",
               "--lambda_2": "--lambda-2", "--save_model": "--save-model"})
def unlearn_cmd(
    checkpoint: Original = Path("original.pt"),
    out: Annotated[Path, out_option("Results JSON to write.")] = Path("scar_results.json"),
    method: Annotated[str, typer.Option("--method", help="SCAR or SCAR_self (CR only, reads no forget set).")] = "SCAR",
    mode: Mode = "CR", classes: Classes = None, request: Request = None,
    reference: Annotated[Path | None, path_option("--reference", "Retrained (oracle) checkpoint, evaluated "
                                                  "beside; must be made for the same request.")] = None,
    allow_mismatch: Annotated[bool, typer.Option("--allow-mismatch", help="Accept a --reference made for another "
                                                 "forget request.")] = False,
    save_model: Annotated[bool, typer.Option("--save-model", help="Also write the unlearned checkpoint, beside "
                                             "--out with the suffix .pt (the published --save_model).")] = False,
    stats_from: Annotated[str, typer.Option("--stats-from", help="Class statistics from surrogate images "
                          "(retain-free, labels = original's predictions) or retain (as the published "
                          "code).")] = "surrogate",
    shrinkage: Annotated[str, typer.Option("--shrinkage", help="single (the paper's formula) or published "
                         "(covariance shrunk twice in SCAR, once in SCAR_self, as the published code).")] = "single",
    divergence: Annotated[str, typer.Option("--divergence", help="kl (published code) or js (paper).")] = "kl",
    surrogate: Annotated[str, typer.Option("--surrogate", help="photos (crops of scikit-learn's sample photos), "
                         "noise, folder, webdataset or dataset (another registered data set).")] = "photos",
    surrogate_path: Annotated[str | None, typer.Option("--surrogate-path", help="Folder / shards / data set "
                                                       "name.")] = None,
    surrogate_quantity: Annotated[int, typer.Option("--surrogate-quantity", callback=check_positive_int,
                                                    help="Chunks of 1,000 images to use (>= 1).")] = 10,
    temperature: Annotated[float, typer.Option("--temperature", callback=check_positive_float,
                                               help="Softens the teacher's logits (> 0).")] = 1.0,
    lambda_1: Annotated[float, typer.Option("--lambda-1", callback=check_nonneg_float,
                                            help="Weight of the forget (Mahalanobis) loss.")] = 1.0,
    lambda_2: Annotated[float, typer.Option("--lambda-2", callback=check_nonneg_float,
                                            help="Weight of the distillation loss.")] = 5.0,
    delta: Annotated[float, typer.Option("--delta", callback=check_positive_float,
                                         help="Tukey transform exponent (> 0).")] = 0.5,
    gamma1: Annotated[float, typer.Option("--gamma1", callback=check_nonneg_float,
                                          help="Covariance shrinkage, diagonal.")] = 3.0,
    gamma2: Annotated[float, typer.Option("--gamma2", callback=check_nonneg_float,
                                          help="Covariance shrinkage, off-diagonal.")] = 3.0,
    lr: Annotated[float, lr_option("Adam learning rate (finite, > 0).")] = 5e-4,
    epochs: Annotated[int, epochs_option("Maximum epochs (the stop rule usually ends earlier).")] = 30,
    batch_size: Annotated[int, batch_size_option("Batch size of the forget and surrogate loaders.")] = 1024,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="MultiStepLR milestones (gamma 0.5), e.g. "
                                                  "25,40; none = constant.")] = None,
    wd: Annotated[float, typer.Option("--wd", callback=check_nonneg_float, help="Weight decay.")] = 0.0,
    momentum: Annotated[float, typer.Option("--momentum", callback=check_nonneg_float,
                                            help="Accepted for parity; Adam ignores it.")] = 0.9,
    num_surrogate_batches: Annotated[int, typer.Option("--num-surrogate-batches", callback=check_nonneg_int,
                                     help="Surrogate steps per forget batch minus one (5 for CIFAR, 90 for Tiny "
                                     "ImageNet).")] = 5,
    target: Annotated[float | None, typer.Option("--target", callback=check_fraction, help="Stop threshold on "
                      "forget accuracy (fraction); default 0.01 (CR) or original test acc - 0.015 (HR).")] = None,
    check_every: Annotated[str, typer.Option("--check-every", help="When to test the stop rule: step, batch, "
                                             "epoch.")] = "step",
    freeze_bn: Annotated[bool | None, typer.Option("--freeze-bn/--no-freeze-bn", help="Keep BatchNorm statistics "
                         "fixed (default: on for digits, off elsewhere as in the published code).")] = None,
    no_mia: Annotated[bool, typer.Option("--no-mia", help="Skip the (slow) SVC membership attack.")] = False,
    mia_repeats: Annotated[int, typer.Option("--mia-repeats", callback=check_positive_int)] = 5,
    param: Annotated[list[str] | None, param_option("Typed SCAR parameter key=value (any ScarParams field, "
                                                    "e.g. target=0.05, hr_threshold=0.4); wins over flags.")] = None,
    seed: Seed = 0, data_root: DataRoot = None, download: Download = False, device: Device = "auto",
    overwrite: Overwrite = False, quiet: Quiet = False,
) -> None:
    """Unlearn with SCAR / SCAR_self and report the paper's accuracies, MIA and AUS.

    Defaults are the paper's CIFAR settings; on digits, a parameter left at its default takes the digits
    preset (batch 64, lr 3e-3, 3 surrogate steps per forget batch, 5,000 surrogate images,
    stop checked per forget batch, frozen BatchNorm statistics).
    """
    params = scar_params(
        param, lambda_1=lambda_1, lambda_2=lambda_2, temperature=temperature, delta=delta, gamma1=gamma1,
        gamma2=gamma2, lr=lr, epochs=epochs, bsize=batch_size, wd=wd, momentum=momentum,
        scheduler=tuple(parse_int_list(scheduler)), num_surrogate_batches=num_surrogate_batches,
        stats_from=stats_from, shrinkage=shrinkage, divergence=divergence, target=target, check_every=check_every,
        freeze_bn=freeze_bn, surrogate=surrogate, surrogate_path=surrogate_path,
        surrogate_quantity=surrogate_quantity, seed=seed,
    )
    summary = workflow.unlearn(checkpoint, out, method=method, mode=mode, classes=parse_int_list(classes),
                               request_path=_str(request), params=params, oracle=_str(reference),
                               save_model_path=out.with_suffix(".pt") if save_model else None,
                               data_root=_str(data_root), download=download,
                               device=device, mia=not no_mia, mia_repeats=mia_repeats, overwrite=overwrite,
                               progress=not quiet, allow_mismatch=allow_mismatch)
    print_results(summary, quiet)


def print_results(summary: dict, quiet: bool = False) -> None:
    rows = summary["results"]
    if quiet:
        typer.echo(" ".join(f"{name}:" + ",".join(f"{k}={v:.4g}" for k, v in r.items()) for name, r in rows.items()))
        return
    keys = list(next(iter(rows.values())).keys())
    table = Table(title=f"{summary['method']} {summary['mode']} on {summary['dataset']} "
                        f"({summary['unlearn_seconds']:.1f} s, {summary['epochs']} epochs, stats from "
                        f"{summary['stats_from']})")
    table.add_column("model")
    for k in keys:
        table.add_column(k, justify="right")
    for name, r in rows.items():
        table.add_row(name, *(f"{r[k]:.3f}" if k == "AUS" else f"{r[k]:.2f}" for k in keys))
    console.print(table)


__all__ = ["app", "main", "scar_params"]


def main() -> None:
    run_app(app)

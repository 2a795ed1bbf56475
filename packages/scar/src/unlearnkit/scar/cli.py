"""``scar``: the published SCAR workflow on the command line (each command wraps one library function)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from unlearnkit.shared.cli_utils import make_app, parse_int_list, run_app

from . import workflow
from .params import ScarParams

app = make_app(
    "scar",
    "SCAR (ECCV 2024): unlearning without the retain set, by pushing forget embeddings to other classes "
    "(Mahalanobis) and distilling the original on out-of-distribution surrogate images.\n\n"
    "Workflow: train-original -> sample-forget (HR only) -> train-oracle (optional) -> surrogate (optional) "
    "-> unlearn. Everything runs offline on the bundled digits data set by default.",
)
console = Console()

DATA_ROOT = typer.Option(None, "--data-root", help="Folder holding downloaded data sets.")
DOWNLOAD = typer.Option(False, "--download", help="Download the data set if missing.")
DEVICE = typer.Option(None, "--device", help="cpu, cuda, cuda:N or auto (default).")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace an existing output file.")
SEED = typer.Option(0, "--seed", help="Random seed.")


def _show(title: str, summary: dict) -> None:
    table = Table(title=title)
    table.add_column("key")
    table.add_column("value")
    for k, v in summary.items():
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    console.print(table)


@app.command("train-original")
def train_original_cmd(
    out: str = typer.Option("original.pt", "--out", help="Checkpoint to write."),
    dataset: str = typer.Option("digits", "--dataset", help="Registered data set (digits, cifar10, cifar100, ...)."),
    model: str = typer.Option("lenet5", "--model", help="Registered model (lenet5, resnet18, resnet20, ...)."),
    recipe: str = typer.Option("core", "--recipe", help="core (fast per-data-set default) or paper "
                               "(SGD 0.1, wd 5e-5, label smoothing 0.4, batch 256, 50 epochs, cosine)."),
    stem: str | None = typer.Option(None, "--stem", help="ResNet-18 stem: imagenet or cifar (3x3, no max-pool)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Override the recipe's epochs."),
    seed: int = SEED, data_root: str | None = DATA_ROOT, download: bool = DOWNLOAD,
    device: str | None = DEVICE, overwrite: bool = OVERWRITE,
) -> None:
    """Train the original model on the whole training set (the published training_original.py)."""
    kw = {"stem": stem} if stem else None
    _show("original", workflow.train_original(dataset, out, model=model, recipe_name=recipe, epochs=epochs,
                                              seed=seed, data_root=data_root, download=download, device=device,
                                              overwrite=overwrite, progress=True, model_kwargs=kw))


@app.command("sample-forget")
def sample_forget_cmd(
    out: str = typer.Option("forget_hr.json", "--out", help="Forget request (JSON) to write."),
    dataset: str = typer.Option("digits", "--dataset"),
    count: int | None = typer.Option(None, "--count", help="Samples to forget (default 5,000 for CIFAR, "
                                        "10,000 for Tiny ImageNet, 10% otherwise)."),
    seed: int = SEED, data_root: str | None = DATA_ROOT, download: bool = DOWNLOAD, overwrite: bool = OVERWRITE,
) -> None:
    """HR: draw the seeded random forget set (the published sample_fgt_samples.py)."""
    _show("forget request", workflow.sample_forget(dataset, out, count=count, seed=seed, data_root=data_root,
                                                   download=download, overwrite=overwrite))


@app.command("train-oracle")
def train_oracle_cmd(
    original: str = typer.Option("original.pt", "--original", help="Original checkpoint (gives model + recipe)."),
    out: str = typer.Option("oracle.pt", "--out"),
    mode: str = typer.Option("CR", "--mode", help="CR (class removal) or HR (random removal)."),
    cls: str | None = typer.Option(None, "--class", help="CR: class(es) to forget, e.g. 3 or 3,5."),
    request: str | None = typer.Option(None, "--request", help="HR: request file from sample-forget."),
    seed: int = SEED, data_root: str | None = DATA_ROOT, download: bool = DOWNLOAD,
    device: str | None = DEVICE, overwrite: bool = OVERWRITE,
) -> None:
    """Retrain on the retain set only (the published training_oracle.py): the gold standard."""
    _show("oracle", workflow.train_oracle(original, out, mode=mode, classes=parse_int_list(cls),
                                          request_path=request, seed=seed, data_root=data_root, download=download,
                                          device=device, overwrite=overwrite, progress=True))


@app.command("surrogate")
def surrogate_cmd(
    source: str = typer.Argument(..., help="Image folder, or webdataset shards ('shards-{000..009}.tar')."),
    out: str = typer.Option("surrogate", "--out", help="Folder to fill with class_0, class_1, ... chunks."),
    image_size: int = typer.Option(32, "--image-size", help="Model input size the images are resized to."),
    chunk_size: int = typer.Option(1000, "--chunk-size", help="Images per chunk folder."),
    count: int = typer.Option(10_000, "--count", help="Images to sample in total."),
    seed: int = SEED, overwrite: bool = OVERWRITE,
) -> None:
    """Organise any image collection into surrogate chunk folders (the published organize_surrogate_data.py)."""
    m = workflow_organise(source, out, image_size=image_size, chunk_size=chunk_size, count=count, seed=seed,
                          overwrite=overwrite)
    _show("surrogate", {k: v for k, v in m.items() if k != "images"} | {"out": out})


def workflow_organise(*args, **kw):
    from .organise import organise_surrogate

    return organise_surrogate(*args, progress=True, **kw)


@app.command("unlearn")
def unlearn_cmd(
    original: str = typer.Option("original.pt", "--original", help="Original checkpoint."),
    out: str = typer.Option("scar_results.json", "--out", help="Results JSON to write."),
    method: str = typer.Option("SCAR", "--method", help="SCAR or SCAR_self (CR only, reads no forget set)."),
    mode: str = typer.Option("CR", "--mode", help="CR (class removal) or HR (random removal)."),
    cls: str | None = typer.Option(None, "--class", help="CR: class(es) to forget."),
    request: str | None = typer.Option(None, "--request", help="HR: request file from sample-forget."),
    oracle: str | None = typer.Option(None, "--oracle", help="Retrained checkpoint to evaluate beside."),
    save_model: str | None = typer.Option(None, "--save-model", help="Also write the unlearned checkpoint."),
    stats_from: str = typer.Option("surrogate", "--stats-from", help="Class statistics from surrogate images "
                                   "(retain-free, labels = original's predictions) or retain (published code)."),
    divergence: str = typer.Option("kl", "--divergence", help="kl (published code) or js (paper)."),
    surrogate: str = typer.Option("photos", "--surrogate", help="photos (crops of scikit-learn's sample photos), "
                                  "noise, folder, webdataset or dataset (another registered data set)."),
    surrogate_path: str | None = typer.Option(None, "--surrogate-path", help="Folder / shards / data set name."),
    surrogate_quantity: int = typer.Option(10, "--surrogate-quantity", help="Chunks of 1,000 images to use."),
    temperature: float = typer.Option(1.0, "--temperature", help="Softens the teacher's logits."),
    lambda_1: float = typer.Option(1.0, "--lambda_1", "--lambda-1", help="Weight of the forget (Mahalanobis) loss."),
    lambda_2: float = typer.Option(5.0, "--lambda_2", "--lambda-2", help="Weight of the distillation loss."),
    delta: float = typer.Option(0.5, "--delta", help="Tukey transform exponent."),
    gamma1: float = typer.Option(3.0, "--gamma1", help="Covariance shrinkage, diagonal."),
    gamma2: float = typer.Option(3.0, "--gamma2", help="Covariance shrinkage, off-diagonal."),
    lr: float = typer.Option(5e-4, "--lr", help="Adam learning rate."),
    epochs: int = typer.Option(30, "--epochs", help="Maximum epochs (the stop rule usually ends earlier)."),
    bsize: int = typer.Option(1024, "--bsize", help="Batch size of the forget and surrogate loaders."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="MultiStepLR milestones (gamma 0.5), "
                                            "e.g. 25,40; none = constant."),
    wd: float = typer.Option(0.0, "--wd", help="Weight decay."),
    momentum: float = typer.Option(0.9, "--momentum", help="Accepted for parity; Adam ignores it."),
    num_surrogate_batches: int = typer.Option(5, "--num-surrogate-batches", help="Surrogate steps per forget "
                                              "batch minus one (5 for CIFAR, 90 for Tiny ImageNet)."),
    target: float | None = typer.Option(None, "--target", help="Stop threshold on forget accuracy (fraction); "
                                           "default 0.01 (CR) or original test acc - 0.015 (HR)."),
    check_every: str = typer.Option("step", "--check-every", help="When to test the stop rule: step, batch, epoch."),
    freeze_bn: bool | None = typer.Option(None, "--freeze-bn/--no-freeze-bn", help="Keep BatchNorm statistics "
                                             "fixed (default: on for digits, off elsewhere as in the published code)."),
    no_mia: bool = typer.Option(False, "--no-mia", help="Skip the (slow) SVC membership attack."),
    mia_repeats: int = typer.Option(5, "--mia-repeats"),
    seed: int = SEED, data_root: str | None = DATA_ROOT, download: bool = DOWNLOAD,
    device: str | None = DEVICE, overwrite: bool = OVERWRITE,
) -> None:
    """Unlearn with SCAR / SCAR_self and report the paper's accuracies, MIA and AUS.

    Defaults are the paper's CIFAR settings; on digits, a parameter left at its default takes the digits
    preset (batch 64, lr 3e-3, 3 surrogate steps per forget batch, 5,000 surrogate images,
    stop checked per forget batch, frozen BatchNorm statistics).
    """
    params = ScarParams(
        lambda_1=lambda_1, lambda_2=lambda_2, temperature=temperature, delta=delta, gamma1=gamma1, gamma2=gamma2,
        lr=lr, epochs=epochs, bsize=bsize, wd=wd, momentum=momentum, scheduler=tuple(parse_int_list(scheduler)),
        num_surrogate_batches=num_surrogate_batches, stats_from=stats_from, divergence=divergence, target=target,
        check_every=check_every, freeze_bn=freeze_bn, surrogate=surrogate, surrogate_path=surrogate_path,
        surrogate_quantity=surrogate_quantity, seed=seed,
    )
    summary = workflow.unlearn(original, out, method=method, mode=mode, classes=parse_int_list(cls),
                               request_path=request, params=params, oracle=oracle, save_model_path=save_model,
                               data_root=data_root, download=download, device=device, mia=not no_mia,
                               mia_repeats=mia_repeats, overwrite=overwrite, progress=True)
    print_results(summary)


def print_results(summary: dict) -> None:
    rows = summary["results"]
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


def main() -> None:
    run_app(app)

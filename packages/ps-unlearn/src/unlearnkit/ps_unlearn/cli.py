"""``ps-unlearn``: Prototype Surgery from the command line (a thin layer over :mod:`.experiment`).

On unlearnkit's CLI vocabulary (docs/cli.md). The published ``main.py``'s and this CLI's earlier names stay
hidden aliases: ``--model-type``/``--model_type``/``-m`` for ``--data``, ``--out-dir`` for ``--out``,
``--forget-class`` for ``--classes``, ``--index-file`` for ``--request``, ``--retrained`` for ``--reference``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from unlearnkit.shared.cli_options import (
    batch_size_option,
    check_fraction,
    check_nonneg_int,
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
    path_option,
    quiet_option,
    request_option,
    seed_option,
)
from unlearnkit.shared.cli_utils import flag_aliases, make_app, parse_int_list, run_app
from unlearnkit.shared.errors import UnlearnkitError

from .experiment import ExperimentOptions, run_experiment, train_original
from .presets import PRESETS
from .report import print_results
from .selection import TRAINABLE

app = make_app(
    "ps-unlearn",
    help=(
        "Prototype Surgery (CCS 2025): unlearn part of one class by editing the final layer's prototypes.\n\n"
        "Workflow: [bold]train[/] the original model (also saves the initial weights Naive PS needs), then "
        "[bold]naive[/] (closed form), [bold]ps[/] (soft relabel + fine-tune the final layer) or [bold]run[/] "
        "(both, plus a retrained reference, like the paper's main.py). The default --data DIGITS runs "
        "offline in seconds."
    ),
    dist="unlearnkit-ps-unlearn",
)
console = Console()

# The published main.py's names and this CLI's earlier ones -> the vocabulary.
ALIASES = {
    "--model-type": "--data", "--model_type": "--data", "-m": "--data", "--out-dir": "--out", "--out_dir": "--out",
    "--forget-class": "--classes", "--forget_class": "--classes", "--index-file": "--request",
    "--index_file": "--request", "--retrained": "--reference", "--data_root": "--data-root",
    "--train_epochs": "--train-epochs", "--stop_at": "--stop-at", "--batch_size": "--batch-size",
}



def _aliases_for(*flags: str) -> dict[str, str]:
    """The hidden aliases of the flags a command has (an alias must point to one of its options)."""
    return {old: new for old, new in ALIASES.items() if new in flags}


COMMON = ("--data", "--out", "--data-root")
TRAIN_ALIASES = {**_aliases_for(*COMMON, "--train-epochs"), "--epochs": "--train-epochs"}  # train has no other epochs
NAIVE_ALIASES = _aliases_for(*COMMON, "--classes", "--request", "--reference", "--batch-size")
PS_ALIASES = _aliases_for(*COMMON, "--classes", "--request", "--reference", "--batch-size", "--stop-at")
RUN_ALIASES = _aliases_for(*COMMON, "--classes", "--request", "--reference", "--batch-size", "--stop-at",
                           "--train-epochs")

Data = Annotated[str, data_option(
    help=f"Data set, with the paper's model and settings for it: {', '.join(PRESETS.names())}.")]
Expid = Annotated[int, typer.Option("--expid", callback=check_nonneg_int,
                                    help="Experiment id (>= 0): which repeat of the original model (seed + expid).")]
Seed = Annotated[int, seed_option("Seed (>= 0) of the forget request, PS shuffling and (plus expid) training; "
                                  "the paper used 209.")]
Out = Annotated[Path, out_option("Folder for models, requests and results (cached originals are reused).")]
DataRoot = Annotated[Path | None, data_root_option("Data set folder (not needed for DIGITS).")]
Download = Annotated[bool, download_option()]
Device = Annotated[str, device_option()]
Overwrite = Annotated[bool, overwrite_option("Replace this run's models / results (never deletes anything else).")]
Quiet = Annotated[bool, quiet_option()]
Ratio = Annotated[float, typer.Option("--ratio", callback=check_fraction,
                                      help="Fraction of the forget class's training samples to forget, (0, 1].")]
Classes = Annotated[str, classes_option("The ONE class the forget samples come from (the paper: 1).")]
Pick = Annotated[str, typer.Option("--pick", help="random (seeded draw) or last (last in data set order: the paper's).")]
Request = Annotated[Path | None, request_option(
    "Forget exactly these samples: a forget request file or training indices (JSON list or one per line); "
    "replaces --classes/--ratio/--pick.")]
Checkpoint = Annotated[Path | None, checkpoint_option(
    "Original model checkpoint (default: <out>/original_<data>_<expid>.pt, trained when missing).")]
Init = Annotated[Path | None, path_option(
    "--init", "Checkpoint holding the initial weights W_init (default: the original's meta).")]
Solver = Annotated[str, typer.Option("--solver", help="Naive PS solver: auto (pinv if N <= d, else least squares), "
                                                       "pinv, lstsq.")]
Epochs = Annotated[int | None, epochs_option("PS fine-tuning epochs (>= 1; default: the paper's per data set).")]
Lr = Annotated[float | None, lr_option("PS learning rate (finite, > 0; default: the paper's per data set).")]
BatchSize = Annotated[int, batch_size_option("Batch size of PS fine-tuning and feature extraction (>= 1).")]
Trainable = Annotated[str, typer.Option(
    "--trainable", help=f"What PS fine-tunes in the final layer: {', '.join(TRAINABLE.names())} "
                        "(paper text: weight; published code: bias).")]
CacheFeatures = Annotated[bool, typer.Option(help="Train PS on cached penultimate features (same result, faster).")]
StopAt = Annotated[str, typer.Option(
    "--stop-at", help="Stop PS once the forget accuracy is at or below: auto (the original's test accuracy on that "
                      "class, what a retrained model scores), none (all epochs, as the paper), or a percentage.")]
Retrain = Annotated[bool, typer.Option(help="Train (or reuse) a model retrained without the forget samples as "
                                            "reference.")]
Reference = Annotated[Path | None, path_option(
    "--reference", "A retrained checkpoint to compare with (must be retrained for the same forget request).")]
AllowMismatch = Annotated[bool, typer.Option(
    "--allow-mismatch", help="Accept a --reference retrained for another forget request.")]
TrainEpochs = Annotated[int | None, typer.Option(
    "--train-epochs", callback=check_positive_int,
    help="Epochs (>= 1) for training the original / retrained model (default: the data set's recipe).")]
Model = Annotated[str | None, model_option("Override the preset's model (resnet50 means the paper's ResNet-56).")]
Mia = Annotated[bool, typer.Option(help="Compute MIA-efficacy (an SVC; adds a few seconds).")]


def _one_class(classes: str) -> int:
    ids = parse_int_list(classes)
    if len(ids) != 1:
        raise UnlearnkitError(f"--classes {classes!r}: Prototype Surgery forgets part of ONE class; give one id")
    return ids[0]


def _options(*, data: str, out: Path, classes: str = "1", request: Path | None = None,
             reference: Path | None = None, quiet: bool = False, **kw) -> ExperimentOptions:
    paths = {k: (str(v) if isinstance(v, Path) else v) for k, v in kw.items()}
    return ExperimentOptions(model_type=data, out_dir=str(out), forget_class=_one_class(classes),
                             index_file=str(request) if request else None,
                             retrained=str(reference) if reference else None, progress=not quiet, **paths)


@app.command()
@flag_aliases(TRAIN_ALIASES)
def train(
    data: Data = "DIGITS",
    expid: Expid = 0,
    seed: Seed = 0,
    out: Out = Path("runs/ps-unlearn"),
    data_root: DataRoot = None,
    download: Download = False,
    device: Device = "auto",
    overwrite: Overwrite = False,
    train_epochs: TrainEpochs = None,
    model: Model = None,
    quiet: Quiet = False,
) -> None:
    """Train the original model and save it with its initial final-layer weights (meta["init_classifier"])."""
    console.print(f"saved {train_original(_options(**locals()))}", soft_wrap=True)


def _unlearn(methods, **kw) -> None:
    exp = run_experiment(_options(**kw), methods)
    print_results(exp.results, console)
    console.print(f"results: {exp.results_path}", soft_wrap=True)


@app.command()
@flag_aliases(NAIVE_ALIASES)
def naive(
    data: Data = "DIGITS",
    expid: Expid = 0,
    seed: Seed = 0,
    ratio: Ratio = 0.1,
    classes: Classes = "1",
    pick: Pick = "random",
    request: Request = None,
    checkpoint: Checkpoint = None,
    init: Init = None,
    solver: Solver = "auto",
    batch_size: BatchSize = 256,
    retrain: Retrain = False,
    reference: Reference = None,
    allow_mismatch: AllowMismatch = False,
    out: Out = Path("runs/ps-unlearn"),
    data_root: DataRoot = None,
    download: Download = False,
    device: Device = "auto",
    overwrite: Overwrite = False,
    mia: Mia = True,
    quiet: Quiet = False,
) -> None:
    """Naive PS: closed-form removal of the forget samples' share of the prototype change (no training)."""
    _unlearn(["naive_ps"], **locals())


@app.command()
@flag_aliases(PS_ALIASES)
def ps(
    data: Data = "DIGITS",
    expid: Expid = 0,
    seed: Seed = 0,
    ratio: Ratio = 0.1,
    classes: Classes = "1",
    pick: Pick = "random",
    request: Request = None,
    checkpoint: Checkpoint = None,
    epochs: Epochs = None,
    lr: Lr = None,
    batch_size: BatchSize = 256,
    trainable: Trainable = "layer",
    cache_features: CacheFeatures = True,
    stop_at: StopAt = "auto",
    retrain: Retrain = False,
    reference: Reference = None,
    allow_mismatch: AllowMismatch = False,
    out: Out = Path("runs/ps-unlearn"),
    data_root: DataRoot = None,
    download: Download = False,
    device: Device = "auto",
    overwrite: Overwrite = False,
    mia: Mia = True,
    quiet: Quiet = False,
) -> None:
    """PS: soft-relabel the forget samples onto their two most similar classes, fine-tune the final layer."""
    _unlearn(["ps"], **locals())


@app.command()
@flag_aliases(RUN_ALIASES)
def run(
    data: Data = "DIGITS",
    expid: Expid = 0,
    seed: Seed = 0,
    ratio: Ratio = 0.1,
    classes: Classes = "1",
    pick: Pick = "random",
    request: Request = None,
    checkpoint: Checkpoint = None,
    init: Init = None,
    solver: Solver = "auto",
    epochs: Epochs = None,
    lr: Lr = None,
    batch_size: BatchSize = 256,
    trainable: Trainable = "layer",
    cache_features: CacheFeatures = True,
    stop_at: StopAt = "auto",
    retrain: Retrain = True,
    reference: Reference = None,
    allow_mismatch: AllowMismatch = False,
    train_epochs: TrainEpochs = None,
    model: Model = None,
    out: Out = Path("runs/ps-unlearn"),
    data_root: DataRoot = None,
    download: Download = False,
    device: Device = "auto",
    overwrite: Overwrite = False,
    mia: Mia = True,
    quiet: Quiet = False,
) -> None:
    """Naive PS then PS from the same original model (trained first if missing), compared with retraining."""
    _unlearn(["naive_ps", "ps"], **locals())


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()

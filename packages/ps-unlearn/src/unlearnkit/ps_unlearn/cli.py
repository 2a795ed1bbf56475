"""``ps-unlearn``: Prototype Surgery from the command line (a thin layer over :mod:`.experiment`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from unlearnkit.shared.cli_utils import make_app, run_app

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
        "(both, plus a retrained reference, like the paper's main.py). The default --model-type DIGITS runs "
        "offline in seconds."
    ),
)
console = Console()

ModelType = Annotated[
    str,
    typer.Option(
        "--model-type",
        "-m",
        help=f"Data set + model + defaults: {', '.join(n.upper() for n in PRESETS.names())}.",
    ),
]
Expid = Annotated[int, typer.Option(help="Experiment id: which repeat of the original model (seed + expid).")]
Seed = Annotated[
    int, typer.Option(help="Seed of the forget request, PS shuffling and (plus expid) training.")
]
OutDir = Annotated[str, typer.Option("--out-dir", "-o", help="Where models, requests and results go.")]
DataRoot = Annotated[str | None, typer.Option(help="Data set folder (not needed for DIGITS).")]
Download = Annotated[bool, typer.Option("--download", help="Download the data set if missing.")]
Device = Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing models / results.")]
Ratio = Annotated[
    float, typer.Option(help="Fraction of the forget class's training samples to forget, (0, 1].")
]
ForgetClass = Annotated[int, typer.Option(help="The class the forget samples come from (the paper: 1).")]
Pick = Annotated[
    str, typer.Option(help="random (seeded draw) or last (last in data set order: the paper's).")
]
IndexFile = Annotated[
    str | None, typer.Option(help="Forget exactly these training indices (JSON list or one per line).")
]
Checkpoint = Annotated[
    str | None,
    typer.Option(help="Original model checkpoint (default: <out-dir>/original_<type>_<expid>.pt)."),
]
Init = Annotated[
    str | None,
    typer.Option(help="Checkpoint holding the initial weights W_init (default: the original's meta)."),
]
Solver = Annotated[
    str, typer.Option(help="Naive PS solver: auto (pinv if N <= d, else least squares), pinv, lstsq.")
]
Epochs = Annotated[
    int | None, typer.Option(help="PS fine-tuning epochs (default: the paper's per data set).")
]
Lr = Annotated[float | None, typer.Option(help="PS learning rate (default: the paper's per data set).")]
Trainable = Annotated[
    str,
    typer.Option(
        help=f"What PS fine-tunes in the final layer: {', '.join(TRAINABLE.names())} (paper text: weight; published code: bias)."
    ),
]
CacheFeatures = Annotated[
    bool, typer.Option(help="Train PS on cached penultimate features (same result, faster).")
]
StopAt = Annotated[
    str,
    typer.Option(
        help="Stop PS once the forget accuracy is at or below: auto (the original's test accuracy on that class, what a retrained model scores), none (all epochs, as the paper), or a percentage."
    ),
]
Retrain = Annotated[
    bool, typer.Option(help="Train (or reuse) a model retrained without the forget samples as reference.")
]
Retrained = Annotated[str | None, typer.Option(help="Use this retrained checkpoint as the reference.")]
TrainEpochs = Annotated[
    int | None, typer.Option(help="Epochs for training the original / retrained model (default: preset).")
]
Model = Annotated[
    str | None,
    typer.Option("--model", help="Override the preset's model (resnet50 means the paper's ResNet-56)."),
]
Mia = Annotated[bool, typer.Option(help="Compute MIA-efficacy (an SVC; adds a few seconds).")]


def _options(**kw) -> ExperimentOptions:
    return ExperimentOptions(**kw)


@app.command()
def train(
    model_type: ModelType = "DIGITS",
    expid: Expid = 0,
    seed: Seed = 209,
    out_dir: OutDir = "runs/ps-unlearn",
    data_root: DataRoot = None,
    download: Download = False,
    device: Device = "cpu",
    overwrite: Overwrite = False,
    train_epochs: TrainEpochs = None,
    model: Model = None,
) -> None:
    """Train the original model and save it with its initial final-layer weights (meta["init_classifier"])."""
    opts = _options(
        model_type=model_type,
        expid=expid,
        seed=seed,
        out_dir=out_dir,
        data_root=data_root,
        download=download,
        device=device,
        overwrite=overwrite,
        train_epochs=train_epochs,
        model=model,
    )
    console.print(f"saved {train_original(opts)}", soft_wrap=True)


def _unlearn(methods, **kw) -> None:
    exp = run_experiment(_options(**kw), methods)
    print_results(exp.results, console)
    console.print(f"results: {exp.results_path}", soft_wrap=True)


@app.command()
def naive(
    model_type: ModelType = "DIGITS",
    expid: Expid = 0,
    seed: Seed = 209,
    ratio: Ratio = 0.1,
    forget_class: ForgetClass = 1,
    pick: Pick = "random",
    index_file: IndexFile = None,
    checkpoint: Checkpoint = None,
    init: Init = None,
    solver: Solver = "auto",
    retrain: Retrain = False,
    retrained: Retrained = None,
    out_dir: OutDir = "runs/ps-unlearn",
    data_root: DataRoot = None,
    download: Download = False,
    device: Device = "cpu",
    overwrite: Overwrite = False,
    mia: Mia = True,
) -> None:
    """Naive PS: closed-form removal of the forget samples' share of the prototype change (no training)."""
    _unlearn(["naive_ps"], **locals())


@app.command()
def ps(
    model_type: ModelType = "DIGITS",
    expid: Expid = 0,
    seed: Seed = 209,
    ratio: Ratio = 0.1,
    forget_class: ForgetClass = 1,
    pick: Pick = "random",
    index_file: IndexFile = None,
    checkpoint: Checkpoint = None,
    epochs: Epochs = None,
    lr: Lr = None,
    trainable: Trainable = "layer",
    cache_features: CacheFeatures = True,
    stop_at: StopAt = "auto",
    retrain: Retrain = False,
    retrained: Retrained = None,
    out_dir: OutDir = "runs/ps-unlearn",
    data_root: DataRoot = None,
    download: Download = False,
    device: Device = "cpu",
    overwrite: Overwrite = False,
    mia: Mia = True,
) -> None:
    """PS: soft-relabel the forget samples onto their two most similar classes, fine-tune the final layer."""
    _unlearn(["ps"], **locals())


@app.command()
def run(
    model_type: ModelType = "DIGITS",
    expid: Expid = 0,
    seed: Seed = 209,
    ratio: Ratio = 0.1,
    forget_class: ForgetClass = 1,
    pick: Pick = "random",
    index_file: IndexFile = None,
    checkpoint: Checkpoint = None,
    init: Init = None,
    solver: Solver = "auto",
    epochs: Epochs = None,
    lr: Lr = None,
    trainable: Trainable = "layer",
    cache_features: CacheFeatures = True,
    stop_at: StopAt = "auto",
    retrain: Retrain = True,
    retrained: Retrained = None,
    train_epochs: TrainEpochs = None,
    model: Model = None,
    out_dir: OutDir = "runs/ps-unlearn",
    data_root: DataRoot = None,
    download: Download = False,
    device: Device = "cpu",
    overwrite: Overwrite = False,
    mia: Mia = True,
) -> None:
    """Naive PS then PS from the same original model (trained first if missing), compared with retraining."""
    _unlearn(["naive_ps", "ps"], **locals())


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()

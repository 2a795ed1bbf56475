"""``lmeraser``: train per-cluster prompts on a frozen backbone, erase samples exactly, evaluate.

Thin layer over :mod:`unlearnkit.lmeraser.api`, on unlearnkit's CLI vocabulary (docs/cli.md). The published
code's flag names (``--test_dataset``, ``--base-dir``, ``--pretrained_model``, ``--num_epochs``, ``--ids`` ...)
still work as hidden aliases, with dashes or underscores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from unlearnkit.shared.cli_options import (
    batch_size_option,
    check_positive_float,
    check_positive_int,
    checkpoint_option,
    data_option,
    data_root_option,
    device_option,
    download_option,
    epochs_option,
    lr_option,
    model_option,
    out_option,
    overwrite_option,
    quiet_option,
    request_option,
    seed_option,
)
from unlearnkit.shared.cli_utils import echo_json, flag_aliases, make_app, run_app
from unlearnkit.shared.errors import UnlearnkitError

from . import api
from .backbones import BACKBONE_SOURCES
from .config import LMEraserConfig
from .partition import PARTITIONERS
from .prompters import PROMPTERS

app = make_app(
    "lmeraser",
    "LMEraser: exact unlearning with per-cluster visual prompts on a frozen backbone.\n\n"
    "Typical use (offline, minutes on a CPU):\n\n"
    "  lmeraser train --out runs/lm.pt\n\n"
    "  lmeraser erase --checkpoint runs/lm.pt --request forget.txt --out runs/lm-erased.pt\n\n"
    "  lmeraser evaluate --checkpoint runs/lm-erased.pt",
    dist="unlearnkit-lmeraser",
)

DEFAULTS = LMEraserConfig()


def _both_spellings(aliases: dict[str, str]) -> dict[str, str]:
    """The published code used underscores (``--num_epochs``); accept those and the dashed forms."""
    out = dict(aliases)
    for old, new in aliases.items():
        out["--" + old[2:].replace("-", "_")] = new
    return {old: new for old, new in out.items() if old != new}


# The published code's names (arguments.py) -> ours. Underscore spellings of our own flags too.
TRAIN_ALIASES = _both_spellings({
    "--test-dataset": "--data", "--base-dir": "--data-root", "--pretrained-model": "--model",
    "--num-epochs": "--epochs", "--batch-size": "--batch-size", "--erasing-method": "--erasing-method",
    "--one-prompt": "--one-prompt", "--num-gpus": "--num-gpus", "--distance-threshold": "--distance-threshold",
    "--num-clusters": "--num-clusters", "--prompt-size": "--prompt-size", "--public-size": "--public-size",
    "--checkpoint-md5": "--checkpoint-md5", "--data-root": "--data-root",
})
ERASE_ALIASES = _both_spellings({"--ignore-public": "--ignore-public", "--num-gpus": "--num-gpus",
                                 "--model-path": "--checkpoint"})

Out = Annotated[Path, out_option("The new checkpoint; also writes <out>.json (train) / <out>.erase.json (erase).")]
Device = Annotated[str, device_option()]
Overwrite = Annotated[bool, overwrite_option()]
Quiet = Annotated[bool, quiet_option()]
NumGpus = Annotated[int | None, typer.Option("--num-gpus", callback=check_positive_int,
                                             help="GPUs in use (>= 1); launch with torchrun (see scripts/).")]
# The checkpoint used to be positional (`lmeraser erase runs/lm.pt`): extra arguments are collected so that
# the old form gets a clear line instead of click's "unexpected extra argument".
EXTRA_ARGS = {"allow_extra_args": True}


def _no_positional(ctx: typer.Context, command: str) -> None:
    if ctx.args:
        raise UnlearnkitError(f"the checkpoint is now an option: lmeraser {command} --checkpoint {ctx.args[0]} ...")


@app.command()
@flag_aliases(TRAIN_ALIASES)
def train(
    out: Out,
    erasing_method: Annotated[str, typer.Option(
        "--erasing-method", help=f"How private samples are grouped: {', '.join(PARTITIONERS.names())}.")
    ] = DEFAULTS.method,
    data_root: Annotated[Path | None, data_root_option(
        help="Data sets folder (also caches the embedded backbone).")] = None,
    data: Annotated[str, data_option(help="Data set to train on (digits is offline).")] = "digits",
    model: Annotated[str, model_option(
        help=f"Frozen backbone: {', '.join(BACKBONE_SOURCES.names())} or timm:<name>.")] = "embedded",
    checkpoint: Annotated[Path | None, checkpoint_option("Local weights of the backbone (md5-checked).")] = None,
    checkpoint_md5: Annotated[str | None, typer.Option(
        "--checkpoint-md5", help="Expected md5 of --checkpoint (known for the published files).")] = None,
    one_prompt: Annotated[bool, typer.Option("--one-prompt", help="One prompt and head for all data (ablation).")
                          ] = False,
    num_gpus: NumGpus = None,
    batch_size: Annotated[int, batch_size_option("Per-cluster batch size (>= 1).")] = DEFAULTS.batch_size,
    epochs: Annotated[int, epochs_option("Epochs per cluster (>= 1).")] = DEFAULTS.epochs,
    lr: Annotated[float, lr_option("SGD learning rate of prompts and heads (finite, > 0).")] = DEFAULTS.lr,
    distance_threshold: Annotated[float | None, typer.Option(
        "--distance-threshold", callback=check_positive_float,
        help="Agglomerative clustering threshold (> 0; overrides --num-clusters).")] = None,
    num_clusters: Annotated[int, typer.Option("--num-clusters", callback=check_positive_int,
                                              help="Fixed number of clusters (>= 1).")] = DEFAULTS.num_clusters,
    prompt_size: Annotated[int, typer.Option(
        "--prompt-size", callback=check_positive_int,
        help="Prompt width in pixels at 224x224 (>= 1), scaled to the input (30 -> 4 at 32).")
    ] = DEFAULTS.prompt_size,
    prompter: Annotated[str, typer.Option("--prompter", help=f"{', '.join(PROMPTERS.names())}.")
                        ] = DEFAULTS.prompter,
    public_size: Annotated[int | None, typer.Option(
        "--public-size", callback=check_positive_int, help="Public (non-erasable) clustering sample size.")
    ] = None,
    seed: Annotated[int, seed_option("Run seed (>= 0; per-cluster seeds derive from it).")] = DEFAULTS.seed,
    device: Device = "auto",
    download: Annotated[bool, download_option()] = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Cluster the private data, train one prompt + head per cluster, save everything."""
    PARTITIONERS.get(erasing_method), PROMPTERS.get(prompter)  # fail fast on typos
    cfg = LMEraserConfig(method=erasing_method, one_prompt=one_prompt, distance_threshold=distance_threshold,
                         num_clusters=None if distance_threshold is not None else num_clusters, prompter=prompter,
                         prompt_size=prompt_size, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    _, summary = api.train_model(cfg, out=out, overwrite=overwrite, dataset=data, base_dir=data_root,
                                 backbone=model, checkpoint=checkpoint, md5=checkpoint_md5,
                                 public_size=public_size, device=device, num_gpus=num_gpus,
                                 download=download, progress=not quiet)
    echo_json({k: summary[k] for k in ("checkpoint", "num_clusters", "full_train_seconds", "test_accuracy")})


@app.command(context_settings=EXTRA_ARGS)
@flag_aliases(ERASE_ALIASES)
def erase(
    ctx: typer.Context,
    checkpoint: Annotated[Path | None, checkpoint_option(
        "Checkpoint written by `lmeraser train` or a previous erase (never modified).")] = None,
    out: Out = None,
    request: Annotated[Path | None, request_option(
        "What to forget: a forget request file, or training-set ids (one per line or a JSON list).")] = None,
    ids: Annotated[Path | None, typer.Option("--ids", hidden=True)] = None,
    ignore_public: Annotated[bool, typer.Option(
        "--ignore-public", help="Skip ids of the public clustering sample instead of failing.")] = False,
    num_gpus: NumGpus = None,
    device: Device = "auto",
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Exactly forget private samples: retrain only their clusters, write <out> and <out>.erase.json."""
    _no_positional(ctx, "erase")
    if checkpoint is None or out is None:
        raise UnlearnkitError(f"erase needs {'--checkpoint' if checkpoint is None else '--out'} (see --help)")
    if ids is not None and request is not None:
        raise UnlearnkitError("give exactly one of --request FILE or --ids FILE")
    record = api.erase_samples(checkpoint, out=out, request=request if request is not None else ids,
                               overwrite=overwrite, ignore_public=ignore_public, device=device, num_gpus=num_gpus,
                               progress=not quiet)
    keys = ("checkpoint", "num_erased", "affected_clusters", "erase_seconds", "full_retrain_seconds",
            "cost_ratio", "test_accuracy")
    echo_json({k: record[k] for k in keys})


@app.command(context_settings=EXTRA_ARGS)
@flag_aliases({"--model-path": "--checkpoint"})
def evaluate(
    ctx: typer.Context,
    checkpoint: Annotated[Path | None, checkpoint_option("An LMEraser checkpoint.")] = None,
    device: Device = "auto",
) -> None:
    """Test accuracy and cluster summary of a checkpoint."""
    _no_positional(ctx, "evaluate")
    if checkpoint is None:
        raise UnlearnkitError("evaluate needs --checkpoint FILE")
    echo_json(api.evaluate_checkpoint(checkpoint, device=device))


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()

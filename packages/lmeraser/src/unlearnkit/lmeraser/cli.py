"""``lmeraser``: train per-cluster prompts on a frozen backbone, erase samples exactly, evaluate.

Thin layer over :mod:`unlearnkit.lmeraser.api`; flags mirror the published code's (``--erasing-method`` or
``--erasing_method`` both work).
"""

from __future__ import annotations

from pathlib import Path

import typer
from unlearnkit.shared.cli_utils import echo_json, make_app, run_app

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
    "  lmeraser erase runs/lm.pt --ids forget.txt --out runs/lm-erased.pt\n\n"
    "  lmeraser evaluate runs/lm-erased.pt",
)

DEFAULTS = LMEraserConfig()


def _opt(default, *names: str, help: str):
    """An option under its dashed name and the published code's underscored spelling."""
    spellings = []
    for n in names:
        spellings += [n] if "-" not in n[2:] else [n, "--" + n[2:].replace("-", "_")]
    return typer.Option(default, *spellings, help=help)


@app.command()
def train(
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the checkpoint (and <out>.json)."),
    erasing_method: str = _opt(DEFAULTS.method, "--erasing-method",
                               help=f"How private samples are grouped: {', '.join(PARTITIONERS.names())}."),
    base_dir: str = _opt(None, "--base-dir", help="Data sets directory (also caches the embedded backbone)."),
    test_dataset: str = _opt("digits", "--test-dataset", help="Data set to train on (digits is offline)."),
    pretrained_model: str = _opt("embedded", "--pretrained-model",
                                 help=f"Frozen backbone: {', '.join(BACKBONE_SOURCES.names())} or timm:<name>."),
    checkpoint: str = typer.Option(None, "--checkpoint", help="Local backbone weights (md5-checked)."),
    checkpoint_md5: str = _opt(None, "--checkpoint-md5",
                               help="Expected md5 of --checkpoint (known for the published files)."),
    one_prompt: bool = _opt(False, "--one-prompt", help="One prompt and head for all data (ablation)."),
    num_gpus: int = _opt(None, "--num-gpus", help="GPUs in use; launch with torchrun (see scripts/)."),
    batch_size: int = _opt(DEFAULTS.batch_size, "--batch-size", help="Per-cluster batch size."),
    num_epochs: int = _opt(DEFAULTS.epochs, "--num-epochs", help="Epochs per cluster."),
    lr: float = typer.Option(DEFAULTS.lr, "--lr", help="SGD learning rate (prompt and head)."),
    distance_threshold: float = _opt(None, "--distance-threshold",
                                     help="Agglomerative clustering threshold (overrides --num-clusters)."),
    num_clusters: int = _opt(DEFAULTS.num_clusters, "--num-clusters", help="Fixed number of clusters."),
    prompt_size: int = _opt(DEFAULTS.prompt_size, "--prompt-size",
                            help="Prompt width in pixels at 224x224, scaled to the input (30 -> 4 at 32)."),
    prompter: str = typer.Option(DEFAULTS.prompter, "--prompter", help=f"{', '.join(PROMPTERS.names())}."),
    public_size: int = _opt(None, "--public-size", help="Public (non-erasable) clustering sample size."),
    seed: int = typer.Option(DEFAULTS.seed, "--seed", help="Run seed (per-cluster seeds derive from it)."),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)."),
    download: bool = typer.Option(False, "--download", help="Download the data set if missing (torchvision)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output files."),
) -> None:
    """Cluster the private data, train one prompt + head per cluster, save everything."""
    cfg = LMEraserConfig(method=erasing_method, one_prompt=one_prompt, distance_threshold=distance_threshold,
                         num_clusters=None if distance_threshold is not None else num_clusters, prompter=prompter,
                         prompt_size=prompt_size, epochs=num_epochs, batch_size=batch_size, lr=lr, seed=seed)
    PARTITIONERS.get(erasing_method), PROMPTERS.get(prompter)  # fail fast on typos
    _, summary = api.train_model(cfg, out=out, overwrite=overwrite, dataset=test_dataset, base_dir=base_dir,
                                 backbone=pretrained_model, checkpoint=checkpoint, md5=checkpoint_md5,
                                 public_size=public_size, device=device, num_gpus=num_gpus,
                                 download=download)
    echo_json({k: summary[k] for k in ("checkpoint", "num_clusters", "full_train_seconds", "test_accuracy")})


@app.command()
def erase(
    model: Path = typer.Argument(..., help="Checkpoint written by `lmeraser train` or a previous erase."),
    out: Path = typer.Option(..., "--out", "-o", help="The new checkpoint (the input is never modified)."),
    ids: str = typer.Option(None, "--ids", help="File of training-set ids (one per line or a JSON list)."),
    request: str = typer.Option(None, "--request", help="A forget request file (unlearnkit's format)."),
    ignore_public: bool = typer.Option(False, "--ignore-public",
                                       help="Skip ids of the public clustering sample instead of failing."),
    num_gpus: int = _opt(None, "--num-gpus", help="GPUs in use; launch with torchrun."),
    device: str = typer.Option(None, "--device", help="cpu, cuda, ..."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output files."),
) -> None:
    """Exactly forget private samples: retrain only their clusters, write <out> and <out>.erase.json."""
    record = api.erase_samples(model, out=out, ids_file=ids, request=request, overwrite=overwrite,
                               ignore_public=ignore_public, device=device, num_gpus=num_gpus)
    keys = ("checkpoint", "num_erased", "affected_clusters", "erase_seconds", "full_retrain_seconds",
            "cost_ratio", "test_accuracy")
    echo_json({k: record[k] for k in keys})


@app.command()
def evaluate(
    model: Path = typer.Argument(..., help="An LMEraser checkpoint."),
    device: str = typer.Option(None, "--device", help="cpu, cuda, ..."),
) -> None:
    """Test accuracy and cluster summary of a checkpoint."""
    echo_json(api.evaluate_checkpoint(model, device=device))


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()

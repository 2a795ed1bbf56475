"""``spkd-transfer``: the published scripts (main_train, generate_mask, main_forget, main_knn, main_cka) as
one CLI, plus ``report`` (side-by-side table), ``classes`` (randomN lists) and ``demo`` (digits, offline)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from unlearnkit.shared.cli_utils import make_app, run_app
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import check_writable, save_json

from . import workflows as wf
from .classlists import random_class_list, write_class_list
from .experiment import DEFAULT_METHODS, run_demo
from .report import evaluate_models, write_report

app = make_app(
    "spkd-transfer",
    "SPKD unlearning (gradient ascent + similarity-preserving distillation) and transfer evaluation "
    "(k-NN on downstream data, CKA to the retrained model). Typical run: train -> forget --method retrain -> "
    "forget --method spkd / ga / ... -> report. Everything defaults to the embedded digits data, offline.",
)
console = Console(width=None if sys.stdout.isatty() else 160)  # piped output keeps whole tables

SAVE_DIR = typer.Option(Path("runs/spkd"), "--save-dir", help="Run directory: checkpoints, request.json, reports.")
MODEL_PATH = typer.Option(..., "--model-path", help="Checkpoint of the original model (written by `train`).")
CLASSES = typer.Option(None, "--class-to-replace", "--classes",
                       help="Classes to forget: ids '3,7', 'random100@SEED', or a list file (ids or names). "
                            "Omit to reuse <save-dir>/request.json.")
DOWNSTREAM = typer.Option(None, "--downstream", "-d",
                          help="Downstream set(s) for k-NN/CKA (repeatable): digits-test (default), fashionmnist, "
                               "officehome-art|clipart|product|realworld, cub, domainnet-<domain>, folder:<path>.")
DATA_ROOT = typer.Option(None, "--data-root", help="Folder holding data sets (not needed for digits).")
DEVICE = typer.Option(None, "--device", help="cpu, cuda, cuda:N (default: cuda when available).")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace existing output files.")
SEED = typer.Option(0, "--seed", help="Seed for shuffling and the k-NN split.")


def _print_flat(title: str, rows: dict[str, dict[str, float]]) -> None:
    cols = sorted({k for r in rows.values() for k in r})
    t = Table(title=title)
    t.add_column("model", no_wrap=True)
    for c in cols:
        t.add_column(c, justify="right")
    for name, r in rows.items():
        t.add_row(name, *(f"{r[c]:.2f}" if c in r else "–" for c in cols))
    console.print(t)


@app.command()
def train(
    dataset: str = typer.Option("digits", "--dataset", help="Training data set (core registry name)."),
    arch: str = typer.Option("lenet5", "--arch", help="Model: lenet5, mlp, resnet18, resnet50, ..."),
    imagenet_arch: bool = typer.Option(False, "--imagenet-arch", help="ImageNet stem for ResNets (224 px input)."),
    epochs: int = typer.Option(None, "--epochs", help="Training epochs (default: the data set's recipe)."),
    lr: float = typer.Option(None, "--lr", help="Learning rate (default: the data set's recipe)."),
    batch_size: int = typer.Option(None, "--batch-size"),
    save_dir: Path = SAVE_DIR, seed: int = SEED, data_root: Path = DATA_ROOT, device: str = DEVICE,
    overwrite: bool = OVERWRITE,
):
    """Train the original model (main_train) into <save-dir>/original.pt."""
    r = wf.train_original(dataset, arch, save_dir, imagenet_arch=imagenet_arch, epochs=epochs, lr=lr,
                          batch_size=batch_size, seed=seed, data_root=data_root, device=device, overwrite=overwrite)
    console.print(f"original model: {r['path']}  test acc {r['test_acc']:.2f}%  ({r['seconds']:.1f}s)")


@app.command()
def mask(
    model_path: Path = MODEL_PATH, class_to_replace: str = CLASSES, save_dir: Path = SAVE_DIR,
    ratios: str = typer.Option("", "--ratios", help="Comma-separated mask ratios (default 0.1,0.2,...,1.0)."),
    unlearn_epochs: int = typer.Option(1, "--unlearn-epochs", help="Accepted for the seed's interface; the "
                                       "saliency is one pass of forget-loss gradients."),
    data_root: Path = DATA_ROOT, device: str = DEVICE, overwrite: bool = OVERWRITE,
):
    """SalUn saliency masks (generate_mask) into <save-dir>/mask/with_<ratio>.pt."""
    rs = [float(r) for r in ratios.replace(",", " ").split()] if ratios.strip() else None
    paths = wf.generate_masks(model_path, class_to_replace, save_dir, ratios=rs, data_root=data_root,
                              device=device, overwrite=overwrite)
    console.print(f"{len(paths)} masks in {Path(paths[0]).parent}")


@app.command("forget")
def forget_cmd(
    method: str = typer.Option("spkd", "--method", "--unlearn",
                               help="spkd, spkd_rkd, spkd_akd, retrain, ft, ga, l1-sparse (FT_prune), rl, salun, "
                                    "or any registered method."),
    model_path: Path = MODEL_PATH, class_to_replace: str = CLASSES, save_dir: Path = SAVE_DIR,
    unlearn_epochs: int = typer.Option(None, "--unlearn-epochs", help="Unlearning epochs (method default)."),
    unlearn_lr: float = typer.Option(None, "--unlearn-lr", help="Unlearning learning rate (method default)."),
    batch_size: int = typer.Option(None, "--batch-size"),
    alpha: float = typer.Option(None, "--alpha", help="l1-sparse: L1 strength."),
    mask_path: Path = typer.Option(None, "--mask-path", help="salun: a mask from `mask`."),
    distill: str = typer.Option(None, "--distill", help="spkd: sp | rkd | akd | rkd-da | mse."),
    teacher: str = typer.Option(None, "--teacher", help="spkd: original | retrained."),
    teacher_path: Path = typer.Option(None, "--teacher-path", help="spkd: retrained checkpoint for --teacher retrained."),
    forget_cap: float = typer.Option(None, "--forget-cap", help="spkd: per-sample CE cap in the ascent (0 = off)."),
    preset: str = typer.Option(None, "--preset", help="spkd: digits (default values) | paper (lr 1e-5, 15 epochs, no cap)."),
    retrained_path: Path = typer.Option(None, "--retrained-path", help="Retrained model: adds CKA to the report."),
    downstream: list[str] = DOWNSTREAM,
    dataset: str = typer.Option(None, "--dataset", help="Check: the data set the original was trained on."),
    num_classes: int = typer.Option(None, "--num-classes", help="Check: the original's number of classes."),
    seed: int = SEED, data_root: Path = DATA_ROOT, device: str = DEVICE, overwrite: bool = OVERWRITE,
):
    """Unlearn (main_forget / main_random): writes <save-dir>/<method>.pt and .json, prints the metrics."""
    wf.check_original(model_path, dataset=dataset, num_classes=num_classes)
    flags = {"unlearn_epochs": unlearn_epochs, "unlearn_lr": unlearn_lr, "batch_size": batch_size, "alpha": alpha,
             "mask_path": str(mask_path) if mask_path else None, "distill": distill, "teacher": teacher,
             "teacher_path": str(teacher_path) if teacher_path else None, "forget_cap": forget_cap}
    r = wf.forget(method, model_path, save_dir, class_to_replace=class_to_replace, preset=preset, flags=flags,
                  retrained_path=retrained_path, downstream=downstream or (), seed=seed, data_root=data_root,
                  device=device, overwrite=overwrite)
    _print_flat(f"{r['method']} (RTE {r['rte']['seconds']:.1f}s) -> {r['path']}", {r["method"]: r["metrics"]})


@app.command()
def knn(
    model_path: list[Path] = typer.Option(..., "--model-path", help="Model checkpoint(s) (repeatable)."),
    downstream: list[str] = DOWNSTREAM,
    feature_layer: str = typer.Option("penultimate", "--feature-layer",
                                      help="penultimate (default) or logits (what the published code used)."),
    k: int = typer.Option(5, "--k"), seed: int = SEED,
    repeats: int = typer.Option(1, "--repeats", help="Average over this many seeded 80/20 splits (small sets)."),
    data_root: Path = DATA_ROOT, device: str = DEVICE,
    out: Path = typer.Option(None, "--out", help="Write the results as JSON here."), overwrite: bool = OVERWRITE,
):
    """Cosine k-NN accuracy (k=5, seeded 80/20 split) of each model on each downstream set (main_knn)."""
    if out:
        check_writable(out, overwrite)
    if repeats < 1:
        raise UnlearnkitError("--repeats must be at least 1")
    res = wf.knn_models(model_path, downstream or (), feature_layer=feature_layer, k=k, seed=seed, repeats=repeats,
                        data_root=data_root, device=device)
    if out:
        save_json(out, res)
    _print_flat(f"k-NN accuracy (%), k={k}, {feature_layer} features", res)


@app.command()
def cka(
    model_path: list[Path] = typer.Option(..., "--model-path", help="Model checkpoint(s) (repeatable)."),
    retrained_path: Path = typer.Option(..., "--retrained-path", help="The retrained reference model."),
    downstream: list[str] = DOWNSTREAM,
    layers: str = typer.Option("penultimate", "--layers", help="penultimate | all | logits | module names."),
    request: Path = typer.Option(None, "--request", help="request.json: adds forget / retain / test."),
    data_root: Path = DATA_ROOT, device: str = DEVICE,
    out: Path = typer.Option(None, "--out", help="Write the results as JSON here."), overwrite: bool = OVERWRITE,
):
    """Linear CKA x 100 to the retrained model, batch-averaged, per layer and averaged (main_cka)."""
    if out:
        check_writable(out, overwrite)
    res = wf.cka_models(model_path, retrained_path, downstream or (), layers=layers, request_path=request,
                        data_root=data_root, device=device)
    if out:
        save_json(out, res)
    _print_flat(f"linear CKA x100 to {retrained_path.name} ({layers}, mean over layers)",
                {m: {d: v["mean"] for d, v in sets.items()} for m, sets in res.items()})


@app.command()
def report(
    model: list[str] = typer.Option(..., "--model", "-m", help="NAME=PATH of a saved model (repeatable)."),
    reference: Path = typer.Option(..., "--reference", help="The retrained model (CKA and ΔkNN reference)."),
    request: Path = typer.Option(..., "--request", help="The run's request.json."),
    downstream: list[str] = DOWNSTREAM,
    layers: str = typer.Option("penultimate", "--layers", help="CKA layers: penultimate | all."),
    knn_repeats: int = typer.Option(1, "--knn-repeats", help="Average k-NN over this many seeded splits."),
    out_dir: Path = typer.Option(Path("."), "--out-dir", help="Where report.json / .md / .png go."),
    data_root: Path = DATA_ROOT, device: str = DEVICE, overwrite: bool = OVERWRITE,
):
    """UA / RA / TA / MIA / k-NN / CKA / RTE of several saved models side by side (Markdown, JSON, PNG)."""
    models = {}
    for item in model:
        name, eq, path = item.partition("=")
        if not eq:
            raise UnlearnkitError(f"--model expects NAME=PATH, got {item!r}")
        models[name] = path
    rows = evaluate_models(models, reference, request, downstream or (), layers=layers, knn_repeats=knn_repeats,
                           data_root=data_root, device=device)
    paths = write_report(rows, out_dir, overwrite=overwrite, console=console)
    console.print(f"written: {', '.join(paths.values())}")


@app.command()
def classes(
    num_classes: int = typer.Option(1000, "--num-classes"), count: int = typer.Option(100, "--count"),
    seed: int = SEED, out: Path = typer.Option(..., "--out", help="Text file, one class id per line."),
    overwrite: bool = OVERWRITE,
):
    """Write a seeded randomN class list (like random100.txt) for --class-to-replace."""
    check_writable(out, overwrite)
    write_class_list(out, random_class_list(num_classes, count, seed))
    console.print(f"{count} of {num_classes} classes -> {out}")


@app.command()
def demo(
    save_dir: Path = typer.Option(Path("runs/spkd-digits"), "--save-dir"),
    class_to_replace: str = typer.Option("random2", "--class-to-replace", "--classes"),
    method: list[str] = typer.Option(None, "--method", help="Method spec(s), e.g. spkd, ga:lr=0.007 "
                                     f"(default: {', '.join(DEFAULT_METHODS)})."),
    layers: str = typer.Option("penultimate", "--layers"),
    knn_repeats: int = typer.Option(10, "--knn-repeats", help="k-NN averaged over this many seeded splits."),
    seed: int = SEED, device: str = DEVICE, overwrite: bool = OVERWRITE,
):
    """The digits comparison end to end (offline, CPU minutes): train, forget 2 classes, every method, report."""
    run_demo(save_dir, classes=class_to_replace, methods=method or DEFAULT_METHODS, layers=layers,
             knn_repeats=knn_repeats, seed=seed, device=device, overwrite=overwrite, console=console)
    console.print(f"report: {save_dir}/report.md, report.json, report.png")


def main() -> None:
    run_app(app)

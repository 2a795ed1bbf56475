"""``spkd-transfer``: the published scripts (main_train, generate_mask, main_forget, main_knn, main_cka) as
one CLI, plus ``report`` (side-by-side table), ``classes`` (randomN lists) and ``demo`` (digits, offline).

On unlearnkit's CLI vocabulary (docs/cli.md); the published scripts' flag names (``--save_dir``,
``--model_path``, ``--class_to_replace``, ``--arch``, ``--dataset``, ``--unlearn_epochs``, ``--unlearn_lr``,
``--mask_path``, ``--retrained-path`` ...) stay hidden aliases, with dashes or underscores.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from unlearnkit.shared.cli_options import (
    batch_size_option,
    check_nonneg_float,
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
from unlearnkit.shared.cli_utils import flag_aliases, make_app, run_app
from unlearnkit.shared.data import ForgetRequest
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import save_json
from unlearnkit.shared.outputs import plan_outputs
from unlearnkit.shared.workflows import resolve_device

from . import workflows as wf
from .classlists import random_class_list, write_class_list
from .experiment import DEFAULT_METHODS, run_demo
from .report import evaluate_models, report_paths, write_report
from .transfer import FEATURE_LAYERS

app = make_app(
    "spkd-transfer",
    "SPKD unlearning (gradient ascent + similarity-preserving distillation) and transfer evaluation "
    "(k-NN on downstream data, CKA to the retrained model). Typical run: train -> forget --method retrain -> "
    "forget --method spkd / ga / ... -> report. Everything defaults to the embedded digits data, offline.",
    dist="unlearnkit-spkd-transfer",
)
console = Console(width=None if sys.stdout.isatty() else 160)  # piped output keeps whole tables


def _aliases(**pairs: str) -> dict[str, str]:
    """The published names (underscored, as argparse had them) and their dashed spellings -> ours."""
    out = {}
    for old, new in pairs.items():
        out["--" + old] = new
        out["--" + old.replace("_", "-")] = new
    return {old: new for old, new in out.items() if old != new}


TRAIN = _aliases(save_dir="--out", data_root="--data-root", batch_size="--batch-size", dataset="--data",
                 arch="--model", imagenet_arch="--imagenet-arch")
MASK = _aliases(save_dir="--out", model_path="--checkpoint", class_to_replace="--classes", data_root="--data-root")
FORGET = {**MASK, **_aliases(batch_size="--batch-size", unlearn="--method", unlearn_epochs="--epochs",
                             unlearn_lr="--lr", mask_path="--mask", teacher_path="--teacher",
                             retrained_path="--reference", dataset="--data", num_classes="--num-classes",
                             forget_cap="--forget-cap")}
KNN = _aliases(model_path="--checkpoint", data_root="--data-root", feature_layer="--feature-layer", out_dir="--out")
CKA = _aliases(model_path="--checkpoint", data_root="--data-root", retrained_path="--reference", out_dir="--out")
REPORT = {**_aliases(data_root="--data-root", retrained_path="--reference", out_dir="--out",
                     knn_repeats="--knn-repeats"), "-m": "--checkpoint"}
DEMO = _aliases(save_dir="--out", class_to_replace="--classes", knn_repeats="--knn-repeats")

RunDir = Annotated[Path, out_option("Run folder: checkpoints, request.json, reports.")]
Checkpoint = Annotated[Path, checkpoint_option("Checkpoint of the original model (written by `train`).")]
Checkpoints = Annotated[list[Path], checkpoint_option("Model checkpoint(s) (repeatable).")]
Classes = Annotated[str | None, classes_option(
    "Classes to forget: ids '3,7', 'random100@SEED', or a list file (ids or names). Omit to reuse "
    "<out>/request.json.")]
Downstream = Annotated[list[str] | None, typer.Option(
    "--downstream", "-d", help="Downstream set(s) for k-NN/CKA (repeatable): digits-test (default), fashionmnist, "
                               "officehome-art|clipart|product|realworld, cub, domainnet-<domain>, folder:<path>.")]
DataRoot = Annotated[Path | None, data_root_option("Folder holding data sets (not needed for digits).")]
Device = Annotated[str, device_option()]
Overwrite = Annotated[bool, overwrite_option()]
Seed = Annotated[int, seed_option("Seed (>= 0) for shuffling and the k-NN split.")]
Quiet = Annotated[bool, quiet_option()]
Reference = Annotated[Path, path_option("--reference", "The retrained reference model (CKA and ΔkNN).")]
AllowMismatch = Annotated[bool, typer.Option(
    "--allow-mismatch", help="Accept a --reference / --teacher retrained for another forget request.")]
Layers = Annotated[str, typer.Option("--layers", help="CKA layers: penultimate | all | logits | module names.")]
JsonOut = Annotated[Path | None, out_option("Write the results as JSON here.")]
Repeats = Annotated[int, typer.Option("--knn-repeats", callback=check_positive_int,
                                      help="Average k-NN over this many seeded 80/20 splits (>= 1).")]


def _print_flat(title: str, rows: dict[str, dict[str, float]]) -> None:
    cols = sorted({k for r in rows.values() for k in r})
    t = Table(title=title)
    t.add_column("model", no_wrap=True)
    for c in cols:
        t.add_column(c, justify="right")
    for name, r in rows.items():
        t.add_row(name, *(f"{r[c]:.2f}" if c in r else "–" for c in cols))
    console.print(t)


def _inputs_exist(**paths) -> dict[str, Path]:
    named = {"--" + k.replace("_", "-"): p for k, p in paths.items() if p is not None}
    for flag, p in named.items():
        if not Path(p).is_file():
            raise UnlearnkitError(f"{flag} {p}: file not found")
    return named


def _check_request_of(reference: Path, request: Path | None, allow_mismatch: bool) -> None:
    """With a request in hand, the reference must be retrained for it (unless --allow-mismatch)."""
    if request is not None:
        wf.check_reference(reference, ForgetRequest.load(request), allow_mismatch=allow_mismatch)


@app.command()
@flag_aliases(TRAIN)
def train(
    data: Annotated[str, data_option("Training data set (core registry name).")] = "digits",
    model: Annotated[str, model_option("Architecture: lenet5, mlp, resnet18, resnet50, ...")] = "lenet5",
    imagenet_arch: Annotated[bool, typer.Option("--imagenet-arch",
                                                help="ImageNet stem for ResNets (224 px input).")] = False,
    epochs: Annotated[int | None, epochs_option("Training epochs (>= 1; default: the data set's recipe).")] = None,
    lr: Annotated[float | None, lr_option("Learning rate (finite, > 0; default: the data set's recipe).")] = None,
    batch_size: Annotated[int | None, batch_size_option()] = None,
    out: RunDir = Path("runs/spkd"), seed: Seed = 0, data_root: DataRoot = None,
    download: Annotated[bool, download_option()] = False, device: Device = "auto", overwrite: Overwrite = False,
    quiet: Quiet = False,
):
    """Train the original model (main_train) into <out>/original.pt."""
    r = wf.train_original(data, model, out, imagenet_arch=imagenet_arch, epochs=epochs, lr=lr,
                          batch_size=batch_size, seed=seed, data_root=data_root, download=download, device=device,
                          overwrite=overwrite, progress=False if quiet else None)
    console.print(f"original model: {r['path']}  test acc {r['test_acc']:.2f}%  ({r['seconds']:.1f}s)")


def _parse_ratios(text: str) -> list[float] | None:
    if not text.strip():
        return None
    try:
        ratios = [float(r) for r in text.replace(",", " ").split()]
    except ValueError:
        raise UnlearnkitError(f"--ratios expects numbers like 0.1,0.5, got {text!r}") from None
    if not all(0 < r <= 1 for r in ratios):  # also refuses nan
        raise UnlearnkitError(f"--ratios {text!r} is not allowed: every ratio must lie in (0, 1]")
    return ratios


@app.command()
@flag_aliases(MASK)
def mask(
    checkpoint: Checkpoint, classes: Classes = None, out: RunDir = Path("runs/spkd"),
    ratios: Annotated[str, typer.Option("--ratios", help="Comma-separated mask ratios in (0, 1] "
                                                         "(default 0.1,0.2,...,1.0).")] = "",
    unlearn_epochs: Annotated[int, typer.Option("--unlearn-epochs", "--unlearn_epochs", hidden=True,
                                                callback=check_positive_int)] = 1,
    data_root: DataRoot = None, device: Device = "auto", overwrite: Overwrite = False,
):
    """SalUn saliency masks (generate_mask) into <out>/mask/with_<ratio>.pt (one pass of forget gradients)."""
    paths = wf.generate_masks(checkpoint, classes, out, ratios=_parse_ratios(ratios), data_root=data_root,
                              device=device, overwrite=overwrite)
    console.print(f"{len(paths)} masks in {Path(paths[0]).parent}")


@app.command("forget")
@flag_aliases(FORGET)
def forget_cmd(
    method: Annotated[str, typer.Option("--method", help="spkd, spkd_rkd, spkd_akd, retrain, ft, ga, l1-sparse "
                                                         "(FT_prune), rl, salun, or any registered method.")] = "spkd",
    checkpoint: Checkpoint = ..., classes: Classes = None, out: RunDir = Path("runs/spkd"),
    epochs: Annotated[int | None, epochs_option("Unlearning epochs (>= 1; method default).")] = None,
    lr: Annotated[float | None, lr_option("Unlearning learning rate (finite, > 0; method default).")] = None,
    batch_size: Annotated[int | None, batch_size_option()] = None,
    alpha: Annotated[float | None, typer.Option("--alpha", callback=check_nonneg_float,
                                                help="l1-sparse: L1 strength (>= 0).")] = None,
    mask_file: Annotated[Path | None, path_option("--mask", "salun: a mask from `mask`.")] = None,
    distill: Annotated[str | None, typer.Option("--distill", help="spkd: sp | rkd | akd | rkd-da | mse.")] = None,
    teacher: Annotated[list[str] | None, path_option(
        "--teacher", "spkd: original (default), or the checkpoint of a retrained teacher "
                     "(the published '--teacher retrained --teacher-path R.pt' also works).")] = None,
    forget_cap: Annotated[float | None, typer.Option(
        "--forget-cap", callback=check_nonneg_float, help="spkd: per-sample CE cap in the ascent (0 = off).")] = None,
    preset: Annotated[str | None, typer.Option(
        "--preset", help="spkd: digits (default values) | paper (lr 1e-5, 15 epochs, no cap).")] = None,
    param: Annotated[list[str] | None, param_option(
        "Any parameter of the method, typed: key=value (repeatable), e.g. -p momentum=0.8.")] = None,
    reference: Annotated[Path | None, path_option(
        "--reference", "Retrained model (same request): adds CKA to the report.")] = None,
    allow_mismatch: AllowMismatch = False,
    downstream: Downstream = None,
    data: Annotated[str | None, data_option("Check: the data set the original was trained on.")] = None,
    num_classes: Annotated[int | None, typer.Option("--num-classes", callback=check_positive_int,
                                                    help="Check: the original's number of classes.")] = None,
    seed: Seed = 0, data_root: DataRoot = None, device: Device = "auto", overwrite: Overwrite = False,
    quiet: Quiet = False,
):
    """Unlearn (main_forget / main_random): writes <out>/<method>.pt and .json, prints the metrics."""
    teacher_mode, teacher_file = _teacher(teacher or [])
    _inputs_exist(checkpoint=checkpoint)
    wf.check_original(checkpoint, dataset=data, num_classes=num_classes)
    flags = {"unlearn_epochs": epochs, "unlearn_lr": lr, "batch_size": batch_size, "alpha": alpha,
             "mask_path": str(mask_file) if mask_file else None, "distill": distill, "teacher": teacher_mode,
             "teacher_path": teacher_file, "forget_cap": forget_cap}
    r = wf.forget(method, checkpoint, out, class_to_replace=classes, preset=preset, flags=flags,
                  params=parse_key_values(param), retrained_path=reference, allow_mismatch=allow_mismatch,
                  downstream=downstream or (), seed=seed, data_root=data_root, device=device, overwrite=overwrite,
                  progress=False if quiet else None)
    _print_flat(f"{r['method']} (RTE {r['rte']['seconds']:.1f}s) -> {r['path']}", {r["method"]: r["metrics"]})


def _teacher(values: list[str]) -> tuple[str | None, str | None]:
    """``--teacher`` values: the mode names ``original`` / ``retrained`` or a checkpoint (retrained teacher)."""
    mode, path = None, None
    for v in values:
        if v in ("original", "retrained"):
            mode = v
        else:
            path = v
    if path is not None:
        if mode == "original":
            raise UnlearnkitError(f"--teacher original and a teacher file ({path}) contradict each other")
        mode = "retrained"
    elif mode == "retrained":
        raise UnlearnkitError("--teacher retrained needs the retrained checkpoint: --teacher PATH")
    return mode, path


@app.command()
@flag_aliases(KNN)
def knn(
    checkpoint: Checkpoints,
    downstream: Downstream = None,
    feature_layer: Annotated[str, typer.Option(
        "--feature-layer", help="penultimate (default) or logits (what the published code used).")] = "penultimate",
    k: Annotated[int, typer.Option("--k", callback=check_positive_int, help="Neighbours (>= 1).")] = 5,
    seed: Seed = 0,
    repeats: Annotated[int, typer.Option("--repeats", callback=check_positive_int,
                                         help="Average over this many seeded 80/20 splits (>= 1).")] = 1,
    data_root: DataRoot = None, device: Device = "auto", out: JsonOut = None, overwrite: Overwrite = False,
):
    """Cosine k-NN accuracy (k=5, seeded 80/20 split) of each model on each downstream set (main_knn)."""
    if feature_layer not in FEATURE_LAYERS:
        raise UnlearnkitError(f"--feature-layer {feature_layer!r}: choose {' or '.join(FEATURE_LAYERS)}")
    inputs = {f"--checkpoint {i + 1}": p for i, p in enumerate(checkpoint)}
    for p in checkpoint:
        _inputs_exist(checkpoint=p)
    plan_outputs({"--out": out}, inputs=inputs, overwrite=overwrite)
    resolve_device(device)
    res = wf.knn_models(checkpoint, downstream or (), feature_layer=feature_layer, k=k, seed=seed, repeats=repeats,
                        data_root=data_root, device=device)
    if out:
        save_json(out, res)
    _print_flat(f"k-NN accuracy (%), k={k}, {feature_layer} features", res)


@app.command()
@flag_aliases(CKA)
def cka(
    checkpoint: Checkpoints,
    reference: Reference,
    downstream: Downstream = None,
    layers: Layers = "penultimate",
    request: Annotated[Path | None, request_option("request.json: adds forget / retain / test, and checks that "
                                                   "--reference was retrained for it.")] = None,
    allow_mismatch: AllowMismatch = False,
    data_root: DataRoot = None, device: Device = "auto", out: JsonOut = None, overwrite: Overwrite = False,
):
    """Linear CKA x 100 to the retrained model, batch-averaged, per layer and averaged (main_cka)."""
    inputs = {f"--checkpoint {i + 1}": p for i, p in enumerate(checkpoint)}
    for p in checkpoint:
        _inputs_exist(checkpoint=p)
    inputs.update(_inputs_exist(reference=reference, request=request))
    plan_outputs({"--out": out}, inputs=inputs, overwrite=overwrite)
    resolve_device(device)
    _check_request_of(reference, request, allow_mismatch)
    res = wf.cka_models(checkpoint, reference, downstream or (), layers=layers, request_path=request,
                        data_root=data_root, device=device)
    if out:
        save_json(out, res)
    _print_flat(f"linear CKA x100 to {reference.name} ({layers}, mean over layers)",
                {m: {d: v["mean"] for d, v in sets.items()} for m, sets in res.items()})


@app.command()
@flag_aliases(REPORT)
def report(
    checkpoint: Annotated[list[str], checkpoint_option("NAME=PATH of a saved model (repeatable).")],
    reference: Reference,
    request: Annotated[Path, request_option("The run's request.json.")],
    downstream: Downstream = None,
    layers: Layers = "penultimate",
    knn_repeats: Repeats = 1,
    allow_mismatch: AllowMismatch = False,
    out: Annotated[Path, out_option("Folder for report.json / .md / .png.")] = Path("."),
    data_root: DataRoot = None, device: Device = "auto", overwrite: Overwrite = False,
):
    """UA / RA / TA / MIA / k-NN / CKA / RTE of several saved models side by side (Markdown, JSON, PNG)."""
    models = {}
    for item in checkpoint:
        name, eq, path = item.partition("=")
        if not eq or not name or not path:
            raise UnlearnkitError(f"--checkpoint expects NAME=PATH, got {item!r}")
        _inputs_exist(checkpoint=path)
        models[name] = path
    inputs = {**{f"--checkpoint {n}": p for n, p in models.items()},
              **_inputs_exist(reference=reference, request=request)}
    plan_outputs({f"report.{k}": p for k, p in report_paths(out).items()}, inputs=inputs, overwrite=overwrite)
    resolve_device(device)
    _check_request_of(reference, request, allow_mismatch)
    rows = evaluate_models(models, reference, request, downstream or (), layers=layers, knn_repeats=knn_repeats,
                           data_root=data_root, device=device)
    paths = write_report(rows, out, overwrite=overwrite, console=console)
    console.print(f"written: {', '.join(paths.values())}")


@app.command()
@flag_aliases({"--num_classes": "--num-classes"})
def classes(
    num_classes: Annotated[int, typer.Option("--num-classes", callback=check_positive_int)] = 1000,
    count: Annotated[int, typer.Option("--count", callback=check_positive_int)] = 100,
    seed: Seed = 0, out: Annotated[Path, out_option("Text file, one class id per line.")] = ...,
    overwrite: Overwrite = False,
):
    """Write a seeded randomN class list (like random100.txt) for --classes."""
    plan_outputs({"--out": out}, overwrite=overwrite)
    write_class_list(out, random_class_list(num_classes, count, seed))
    console.print(f"{count} of {num_classes} classes -> {out}")


@app.command()
@flag_aliases(DEMO)
def demo(
    out: RunDir = Path("runs/spkd-digits"),
    classes: Annotated[str, classes_option("Classes to forget (ids, randomN, or a list file).")] = "random2",
    method: Annotated[list[str] | None, typer.Option(
        "--method", help="Method spec(s), e.g. spkd, ga:lr=0.007 (typed by each method's parameters; "
                         f"default: {', '.join(DEFAULT_METHODS)}).")] = None,
    layers: Layers = "penultimate",
    knn_repeats: Annotated[int, typer.Option("--knn-repeats", callback=check_positive_int,
                                             help="k-NN averaged over this many seeded splits (>= 1).")] = 10,
    seed: Seed = 0, device: Device = "auto", overwrite: Overwrite = False,
):
    """The digits comparison end to end (offline, CPU minutes): train, forget 2 classes, every method, report.
    Checkpoints already in <out> are reused (a crashed run continues); the report is never replaced without
    --overwrite."""
    resolve_device(device)
    run_demo(out, classes=classes, methods=method or DEFAULT_METHODS, layers=layers,
             knn_repeats=knn_repeats, seed=seed, device=device, overwrite=overwrite, console=console)
    console.print(f"report: {out}/report.md, report.json, report.png")


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()

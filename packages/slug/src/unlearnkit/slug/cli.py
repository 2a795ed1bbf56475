"""`slug`: the command line over unlearnkit.slug (each command a few lines over a library function)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from unlearnkit.shared.cli_options import (
    check_device,
    check_fraction,
    check_nonneg_float,
    check_positive_float,
    check_positive_int,
    param_option,
    parse_key_values,
)
from unlearnkit.shared.cli_utils import flag_aliases

from ._core import echo_json, make_app, run_app

# make_app's group reports UnlearnkitError as "Error: ..." with exit code 2 (typer.Exit), for the root and,
# since the root group's invoke wraps them, for the nested `slug data ...` commands too.
app = make_app("slug", "SLUG: forget a name/concept in CLIP with one gradient and a single-layer update.\n\n"
               "Workflow: data download -> data create-forget -> grads -> layers -> unlearn -> eval. "
               "`slug demo` runs everything offline on a tiny CLIP trained on captioned digits.",
               dist="unlearnkit-slug")
data_app = make_app("data", "LAION-style data: download url lists into webdataset shards, build forget sets.",
                    dist=None)
app.add_typer(data_app, name="data")

MODEL = typer.Option("ViT-B-32", "--model", help="open_clip model name (or slug-tiny-clip).")
PRETRAINED = typer.Option("laion400m_e32", "--pretrained", help="open_clip pretrained tag ('' for none).")
CHECKPOINT = typer.Option(None, "--checkpoint", help="A slug CLIP checkpoint (.safetensors); wins over --model.")
DEVICE = typer.Option("auto", "--device", callback=check_device, help="cpu, cuda, cuda:N or auto (GPU when "
                      "available).")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace existing outputs (never deletes anything else).")
OUT_DIR_ALIASES = {"--out-dir": "--out", "--output": "--out"}


def _device(device: str) -> str:
    from unlearnkit.shared.workflows import resolve_device

    return str(resolve_device(device))


# --- model families beyond CLIP (unlearnkit.slug.families, unlearnkit.slug.family_workflow) ---
FAMILY = typer.Option("clip", "--family", help="clip (open_clip CLIP), sd (Stable Diffusion's text encoder) or "
                      "llava (LLaVA's vision tower); sd/llava read --checkpoint (folder or hub id), --name, --data.")
DATA = typer.Option(None, "--data", help="sd: names file (one per line); llava: folder with one image sub-folder "
                    "per identity.")
EDITED = typer.Option(None, "--edited", help="sd/llava: folder written by `slug unlearn`, compared with --checkpoint.")


def _is_clip(family: str) -> bool:
    from .families import get_family

    return get_family(family).adapter is None


def _adapter(family: str, checkpoint, device: str):
    from .families import get_family

    fam = get_family(family)
    return fam.load_adapter(checkpoint or fam.default_checkpoint, device)


def _need(**options):
    """Options that one family requires and another does not (so typer cannot require them)."""
    from ._core import UnlearnkitError

    for opt, value in options.items():
        if value is None or value == []:
            raise UnlearnkitError(f"--{opt.replace('_', '-')} is required here")
    return next(iter(options.values())) if len(options) == 1 else tuple(options.values())


def _bundle(model: str, pretrained: str, checkpoint: Path | None, device: str):
    from .models import load_clip

    return load_clip(model, pretrained or None, checkpoint, _device(device))


def _note(summary: dict) -> None:
    """The skipped-input line ("skipped 3 corrupt images, 1 truncated shard") on stderr, if any."""
    if summary.get("skipped"):
        typer.echo(summary["skipped"], err=True)


@data_app.command("download")
@flag_aliases(OUT_DIR_ALIASES)
def data_download(
    url_list: Path = typer.Argument(..., help="parquet / csv / tsv / txt with a url (and a caption) column."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for 00000.tar, 00000_stats.json ... (merged into, "
                             "never emptied)."),
    url_col: str = typer.Option("url", help="URL column name (LAION parquet: URL)."),
    caption_col: str = typer.Option("caption", help="Caption column name (LAION parquet: TEXT)."),
    image_size: int = typer.Option(256, callback=check_positive_int, help="Images are resized (with border) to "
                                   "this size (>= 1)."),
    processes: int = typer.Option(1, callback=check_positive_int, help="img2dataset processes (>= 1)."),
    threads: int = typer.Option(4, callback=check_positive_int, help="img2dataset download threads per process "
                                "(>= 1)."),
    samples_per_shard: int = typer.Option(10000, callback=check_positive_int, help="Samples per tar shard."),
    timeout: int = typer.Option(10, callback=check_positive_int, help="Seconds per download."),
    overwrite: bool = OVERWRITE,
):
    """Download images with img2dataset into webdataset shards; failed URLs are counted, not fatal.

    Only http(s) URLs are fetched (other rows are counted and skipped); images over the core's pixel limit
    (decompression bombs) fail and are counted."""
    from .download import download

    r = download(url_list, out, url_col=url_col, caption_col=caption_col, image_size=image_size,
                 processes=processes, threads=threads, samples_per_shard=samples_per_shard, timeout=timeout,
                 overwrite=overwrite)
    typer.echo(r.summary())


@data_app.command("create-forget")
def data_create_forget(
    name: str = typer.Option(..., "--name", help="Name or concept; captions containing it (any case) are kept."),
    shards: list[Path] = typer.Option(..., "--shards", help="Shard files, folders or brace ranges (repeatable)."),
    out: Path = typer.Option(None, "--out", "-o", help="Output tar (default: ./tar_files/<name>.tar)."),
    max_images: int = typer.Option(None, "--max-images", callback=check_positive_int,
                                   help="Stop after this many matches (>= 1)."),
    overwrite: bool = OVERWRITE,
):
    """Build the forget set: stream the shards, keep every sample whose caption mentions --name.

    Corrupt images among the matches and truncated shards are skipped and counted."""
    from .forget_set import create_forget_set

    out = out or Path("tar_files") / f"{name.replace(' ', '_').replace('/', '_')}.tar"
    r = create_forget_set(name, shards, out, max_images=max_images, overwrite=overwrite)
    typer.echo(f"{r.matched} of {r.scanned} samples in {r.shards} shard(s) mention {name!r} -> {r.path}")
    _note({"skipped": r.skipped})


@app.command("grads")
@flag_aliases(OUT_DIR_ALIASES)
def grads(
    forget: Path = typer.Option(None, "--forget", help="clip: forget-set tar (from `slug data create-forget`)."),
    retain: list[Path] = typer.Option(None, "--retain", help="clip: retain shard(s), e.g. laion400m/00000.tar."),
    out_dir: Path = typer.Option(Path("grads"), "--out", "-o", help="Folder: writes forget.safetensors, "
                                 "retain.safetensors, grads_summary.json."),
    batch_size: int = typer.Option(16, callback=check_positive_int, help="Batch size of both passes (the paper's "
                                   "16)."),
    retain_limit: int = typer.Option(None, callback=check_positive_int, help="Use only the first N retain "
                                     "samples."),
    model: str = MODEL, pretrained: str = PRETRAINED, checkpoint: Path = CHECKPOINT, device: str = DEVICE,
    overwrite: bool = OVERWRITE,
    family: str = FAMILY, name: str = typer.Option(None, "--name", help="sd/llava: the identity to forget."),
    data: Path = DATA,
):
    """One pass each: forget gradient of 1 - cos(image, caption), retain gradient of the CLIP loss.
    Runs under `torchrun --nproc-per-node N slug grads ...` with gradients all-reduced.
    sd/llava: the identification loss of the forget identity's prompts/images and of everyone else's."""
    device = _device(device)
    if not _is_clip(family):
        from .family_workflow import family_grads

        return echo_json(family_grads(lambda: _adapter(family, checkpoint, device), _need(name=name),
                                      _need(data=data), out_dir, batch_size=batch_size, device=device,
                                      overwrite=overwrite, checkpoint=checkpoint))
    from .workflow import check_grads_outputs, compute_grads

    forget, retain = _need(forget=forget, retain=retain)
    check_grads_outputs(forget, retain, out_dir, overwrite, checkpoint=checkpoint)
    summary = compute_grads(_bundle(model, pretrained, checkpoint, device), forget, retain, out_dir,
                            batch_size=batch_size, retain_limit=retain_limit, device=device, overwrite=overwrite)
    echo_json(summary)
    _note(summary)


@app.command("layers")
@flag_aliases(OUT_DIR_ALIASES)
def layers(
    grads_dir: Path = typer.Option(Path("grads"), "--grads-dir", help="Output folder of `slug grads`."),
    out_dir: Path = typer.Option(Path("."), "--out", "-o", help="Folder: writes layers.json and layers.png."),
    include_norm: bool = typer.Option(False, help="Also consider LayerNorm weights."),
    model: str = MODEL, pretrained: str = PRETRAINED, checkpoint: Path = CHECKPOINT, overwrite: bool = OVERWRITE,
    family: str = FAMILY,
):
    """Importance and alignment of every candidate tensor; the Pareto set per tower (JSON + log-log PNG).
    sd: text-encoder tensors only; llava: the vision tower's attention q/k/v projections only."""
    if not _is_clip(family):
        from .family_workflow import family_layers

        scores = family_layers(lambda: _adapter(family, checkpoint, "cpu"), grads_dir, out_dir,
                               include_norm=include_norm, overwrite=overwrite)
    else:
        from .workflow import check_layers_outputs, select_layers

        check_layers_outputs(grads_dir, out_dir, overwrite, checkpoint=checkpoint)
        scores = select_layers(_bundle(model, pretrained, checkpoint, "cpu"), grads_dir, out_dir,
                               include_norm=include_norm, overwrite=overwrite)
    for s in scores:
        if s.pareto:
            typer.echo(f"{s.tower:6s} {s.name:60s} importance {s.importance:.3g}  alignment {s.alignment:.3g}")


def _evaluator(bundle, name, forget_images, names_file, utility_folder, utility_fraction, device, template):
    from .workflow import build_evaluator

    return build_evaluator(bundle, name, forget_images, names_file=names_file, utility_folder=utility_folder,
                           utility_fraction=utility_fraction, device=device, name_template=template)


NAME = typer.Option(..., "--name", help="The identity being forgotten (one of the names list).")
FORGET_IMAGES = typer.Option(None, "--forget-images", help="clip: tar of the identity's images for forget accuracy.")
NAMES_FILE = typer.Option(None, "--names-file", help="Zero-shot label set, one name per line (CelebA names).")
UTILITY = typer.Option(None, "--utility-folder", help="ImageNet-style val folder for zero-shot utility.")
TEMPLATE = typer.Option("{}.", "--name-template", help="Prompt for each name (the paper: '{}.').")


@app.command("unlearn")
def unlearn(
    name: str = NAME, forget_images: Path = FORGET_IMAGES, names_file: Path = NAMES_FILE,
    utility_folder: Path = UTILITY, name_template: str = TEMPLATE,
    utility_fraction: float = typer.Option(0.05, callback=check_fraction, help="Fixed seeded fraction of the "
                                           "utility set used in search, in (0, 1]."),
    grads_dir: Path = typer.Option(Path("grads"), "--grads-dir"),
    layers_json: Path = typer.Option(Path("layers.json"), "--layers"),
    out: Path = typer.Option(Path("unlearned.safetensors"), "--out", "-o", help="The unlearned model (plus its "
                             ".json summary)."),
    log: Path = typer.Option(Path("search.jsonl"), "--log", help="Every search trial, JSON lines."),
    target: str = typer.Option(None, help="top5 (clip default; paper: top-5 forget accuracy 0) or top1 (sd/llava "
                               "default)."),
    threshold: float = typer.Option(0.0, callback=check_nonneg_float, help="Forget accuracy (%) at or below which "
                                    "the target counts as reached."),
    max_iter: int = typer.Option(10, callback=check_positive_int, help="Search iterations per layer (>= 1)."),
    towers: str = typer.Option("vision,text", help="Towers whose Pareto layers are searched."),
    model: str = MODEL, pretrained: str = PRETRAINED, checkpoint: Path = CHECKPOINT, device: str = DEVICE,
    overwrite: bool = OVERWRITE,
    family: str = FAMILY, data: Path = DATA,
):
    """Binary-search the step on every Pareto layer, pick the layer with the best utility at the forget
    target, apply that single-layer update once and save the model.
    sd/llava: --out is a folder (the edited text encoder / LLaVA model, loadable with from_pretrained)."""
    if target is not None and target not in ("top1", "top5"):
        raise typer.BadParameter(f"{target!r} is not allowed: choose top1 or top5", param_hint="--target")
    if threshold > 100:
        raise typer.BadParameter(f"{threshold!r} is not allowed: a percentage <= 100", param_hint="--threshold")
    device = _device(device)
    if not _is_clip(family):
        from .family_workflow import family_unlearn

        s = family_unlearn(lambda: _adapter(family, checkpoint, device), name, _need(data=data), grads_dir,
                           layers_json, out, log, target=target or "top1", threshold=threshold, max_iter=max_iter,
                           device=device, overwrite=overwrite, checkpoint=checkpoint)
        return echo_json({k: s[k] for k in ("layer", "step", "search_seconds", "before", "after")})
    from .workflow import check_unlearn_outputs
    from .workflow import unlearn as run

    target = target or "top5"
    forget_images = _need(forget_images=forget_images)
    check_unlearn_outputs(out, log, grads_dir, layers_json, overwrite, checkpoint=checkpoint,
                          forget_images=forget_images, names_file=names_file)
    bundle = _bundle(model, pretrained, checkpoint, device)
    ev = _evaluator(bundle, name, forget_images, names_file, utility_folder, utility_fraction, device, name_template)
    s = run(bundle, grads_dir, layers_json, ev, out, log, target=target, threshold=threshold, max_iter=max_iter,
            towers=[t.strip() for t in towers.split(",") if t.strip()], overwrite=overwrite)
    echo_json({k: s[k] for k in ("layer", "step", "search_seconds", "before", "after")})


@app.command("eval")
def evaluate(
    name: str = NAME, forget_images: Path = FORGET_IMAGES, names_file: Path = NAMES_FILE,
    utility_folder: Path = UTILITY, name_template: str = TEMPLATE,
    utility_fraction: float = typer.Option(1.0, callback=check_fraction, help="Fraction of the utility set "
                                           "(1.0 = all)."),
    heldout: Path = typer.Option(None, "--heldout", help="Held-out shard (e.g. CC3M) for the MIA."),
    model: str = MODEL, pretrained: str = PRETRAINED, checkpoint: Path = CHECKPOINT, device: str = DEVICE,
    family: str = FAMILY, data: Path = DATA, edited: Path = EDITED,
    generate: bool = typer.Option(False, "--generate", help="sd/llava with real weights: also generate (sd: CLIP "
                                  "score of images; llava: does the answer to 'Who is this?' name the identity)."),
    score_model: str = typer.Option(None, "--score-model", help="sd --generate: a transformers CLIP for the score."),
):
    """Forget accuracy, zero-shot utility and MIA accuracy of a model (original, SLUG or a baseline).
    sd/llava: identification and feature drift of the forget vs the retain side, --checkpoint -> --edited."""
    device = _device(device)
    if not _is_clip(family):
        from .family_workflow import family_eval

        return echo_json(family_eval(lambda: _adapter(family, checkpoint, device), _need(edited=edited), name,
                                     _need(data=data), device=device, generate=generate, score_model=score_model))
    from .workflow import evaluate as run

    forget_images = _need(forget_images=forget_images)
    bundle = _bundle(model, pretrained, checkpoint, device)
    ev = _evaluator(bundle, name, forget_images, names_file, utility_folder, utility_fraction, device, name_template)
    summary = run(bundle, ev, forget_tar=forget_images, heldout=heldout, device=device)
    echo_json(summary)
    _note(summary)


@app.command("baseline")
def baseline(
    method: str = typer.Argument(..., help="ft, ga, ga+ft, salun or ssd."),
    forget: Path = typer.Option(..., "--forget"), retain: list[Path] = typer.Option(..., "--retain"),
    out: Path = typer.Option(..., "--out", "-o", help="The model to write."),
    grads_dir: Path = typer.Option(None, "--grads-dir"),
    epochs: int = typer.Option(10, callback=check_positive_int, help="Epochs (>= 1)."),
    lr: float = typer.Option(1e-7, callback=check_positive_float, help="Learning rate (finite, > 0)."),
    batch_size: int = typer.Option(32, callback=check_positive_int, help="Batch size (>= 1)."),
    param: Annotated[list[str] | None, param_option("Typed BaselineConfig field key=value, e.g. "
                                                    "weight_decay=0.01, ssd_alpha=5; wins over the flags.")] = None,
    model: str = MODEL, pretrained: str = PRETRAINED, checkpoint: Path = CHECKPOINT, device: str = DEVICE,
    overwrite: bool = OVERWRITE,
):
    """A comparison baseline on the same forget/retain data (CLIP-loss versions, see README)."""
    from unlearnkit.shared.typed import coerce_fields

    from .baselines import BaselineConfig
    from .workflow import check_baseline_outputs, run_baseline

    check_baseline_outputs(method, forget, retain, out, grads_dir, overwrite, checkpoint=checkpoint)
    cfg = BaselineConfig(**{"epochs": epochs, "lr": lr,
                            **coerce_fields(BaselineConfig, parse_key_values(param), owner="baseline")})
    device = _device(device)
    summary = run_baseline(_bundle(model, pretrained, checkpoint, device), method, forget, retain, out,
                           grads_dir=grads_dir, batch_size=batch_size, device=device, overwrite=overwrite,
                           params=cfg)
    echo_json(summary)
    _note(summary)


@app.command("demo")
@flag_aliases({"--work-dir": "--out"})
def demo(
    work_dir: Path = typer.Option(Path("slug-demo"), "--out", "-o", help="Work folder: cache for the tiny CLIP "
                                  "and all outputs (reused by the next run)."),
    digit: str = typer.Option("seven", help="Digit name to forget."),
    train_epochs: int = typer.Option(30, callback=check_positive_int, help="Tiny CLIP training epochs (cached "
                                     "per value)."),
    threshold: float = typer.Option(5.0, callback=check_nonneg_float, help="Forget top-1 accuracy (%) that counts "
                                    "as forgotten."),
    towers: str = typer.Option("vision,text", help="Towers searched."),
    baseline: bool = typer.Option(True, help="Also time GA+FT to the same forget accuracy."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Run again in a folder an earlier demo run made "
                                   "(its results are replaced, its trained model reused)."),
):
    """Offline demo: tiny CLIP on captioned digits, SLUG forgets one digit name, compared with GA+FT."""
    from .demo import DemoConfig, run_digits_demo

    cfg = DemoConfig(digit=digit, train_epochs=train_epochs, threshold=threshold, run_baseline=baseline,
                     towers=tuple(t.strip() for t in towers.split(",") if t.strip()))
    run_digits_demo(work_dir, cfg, log=typer.echo, overwrite=overwrite)
    typer.echo(f"results: {work_dir / 'demo_results.json'}")


def main() -> None:
    run_app(app)

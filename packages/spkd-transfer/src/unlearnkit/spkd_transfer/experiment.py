"""The digits demo: the paper's comparison end to end, offline, in a few CPU minutes.

Original LeNet-5 on digits -> forget 2 of 10 classes -> retrain (reference), SPKD, and the shared baselines
-> one table of UA / RA / TA / MIA / k-NN / CKA. "Transfer" on digits: k-NN (cosine, k=5, seeded 80/20)
on the held-out digits *test* split of all ten classes, with features of each unlearned model; CKA to the
retrained model on the same images. k-NN is averaged over 10 seeded 80/20 splits (``knn_repeats``): the
test part of one split has 72 images, so a single split moves in steps of 1.4 points. A model whose features still separate every digit as well as the
retrained model's keeps its transfer value, whatever its classifier head now says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from unlearnkit.shared.errors import UnlearnkitError

from .report import evaluate_models, write_report
from .workflows import canonical_method, ensure_request, forget, train_original

__all__ = ["DEFAULT_METHODS", "parse_method_spec", "run_demo"]

# GA twice: the core's default (gentle: barely forgets on digits) and at the learning rate that forgets
# as much as SPKD does, which is the fair comparison of the transfer damage.
DEFAULT_METHODS = ("retrain", "spkd", "spkd_rkd", "spkd_akd", "ga", "ga:lr=0.007", "ft", "l1-sparse", "rl", "salun")


def parse_method_spec(spec: str) -> tuple[str, dict[str, str], str]:
    """``"ga:lr=0.007,epochs=5"`` -> ``("ga", {"lr": "0.007", "epochs": "5"}, "ga_lr0.007_epochs5")``."""
    name, _, rest = spec.partition(":")
    params: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise UnlearnkitError(f"method spec {spec!r}: expected key=value after ':'")
        params[key.strip()] = value.strip()
    method = canonical_method(name)
    label = method + "".join(f"_{k}{v}" for k, v in params.items())
    return method, params, re.sub(r"[^A-Za-z0-9_.=-]", "_", label)


def run_demo(save_dir: str | Path, *, classes: str = "random2", methods: Sequence[str] = DEFAULT_METHODS,
             dataset: str = "digits", arch: str = "lenet5", downstream: Sequence[str] = ("digits-test",),
             layers: str = "penultimate", knn_repeats: int = 10, seed: int = 0, device: str | None = None,
             data_root=None,
             overwrite: bool = False, progress: bool | None = None, console=None) -> list[dict]:
    """Train (or reuse) the original, run every method on the same request, write the report; returns rows.

    Existing checkpoints in ``save_dir`` are reused unless ``overwrite``: re-running after a crash, or with
    an extra method, only computes what is missing.
    """
    from unlearnkit.shared.methods import get_method
    from unlearnkit.shared.outputs import plan_outputs

    from .report import report_paths
    from .workflows import check_method_numbers

    save = Path(save_dir)
    original = save / "original.pt"
    # Before any work: the report files, the folder, and every method spec typed by its params dataclass.
    plan_outputs({f"report.{k}": p for k, p in report_paths(save).items()}, overwrite=overwrite)
    for spec in (*methods, "retrain"):
        method, params, _ = parse_method_spec(spec)
        check_method_numbers(get_method(method).make_params(params), params)
    if knn_repeats < 1:
        raise UnlearnkitError(f"--knn-repeats {knn_repeats} is not allowed: must be an integer >= 1")
    if overwrite or not original.is_file():
        train_original(dataset, arch, save, seed=seed, device=device, data_root=data_root, overwrite=overwrite,
                       progress=progress)
    ensure_request(save, original, classes, data_root=data_root, overwrite=overwrite)
    parsed = [parse_method_spec(m) for m in methods]
    if not any(m == "retrain" for m, _, _ in parsed):
        parsed.insert(0, ("retrain", {}, "retrain"))
    paths: dict[str, str] = {}
    for method, params, label in parsed:
        out = save / f"{label}.pt"
        if overwrite or not out.is_file():
            # strings: the method's params dataclass types them (unlearnkit.shared.typed): 2.7 epochs or
            # lr=nan are refused, not rounded or passed on
            forget(method, original, save, params=params, seed=seed, device=device, data_root=data_root,
                   overwrite=True, out_name=label, downstream=downstream)
        paths[label] = str(out)
    reference = paths["retrain"]
    rows = evaluate_models({"original": str(original), **paths}, reference, save / "request.json", downstream,
                           layers=layers, knn_repeats=knn_repeats, data_root=data_root, device=device)
    write_report(rows, save, overwrite=overwrite, console=console,
                 meta={"title": f"{dataset}/{arch}, forget classes {classes}", "classes": classes,
                       "downstream": list(downstream), "seed": seed, "knn_repeats": knn_repeats})
    return rows



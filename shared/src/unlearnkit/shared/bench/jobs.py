"""One method run as a self-contained job, so that the bench (and ``tune``) can run it in a child process.

The job names everything by value or path (data set, original checkpoint, request, parameters), never by
live objects, so the child rebuilds its inputs and a crash, a hang or a memory blow-up stays in the child.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..data import ForgetRequest, Splits
from ..evaluation import evaluate_unlearning


@dataclass
class MethodJob:
    method: str
    params: dict
    seed: int
    data: str
    original: str  # checkpoint path
    request: ForgetRequest
    device: str = "cpu"
    data_root: str | None = None
    mia: bool = True
    shadows: tuple[list[str], list[str]] | None = None  # U-LiRA: paths of shadow originals, shadow retrains
    extra: dict = field(default_factory=dict)


def bench_metrics(model, splits: Splits, device, seed: int, mia: bool = True, shadows=None) -> dict[str, float]:
    """UA/RA/TA (+ TA_forget/TA_retain for class requests), MIA, and the opt-in U-LiRA column."""
    _check_finite(model, splits, device)
    metrics = evaluate_unlearning(model, splits, device, mia=mia, seed=seed)
    if shadows is not None:
        from ..metrics import ulira_attack

        res = ulira_attack(model, shadows[0], shadows[1], splits.forget, device=device)
        metrics["ULiRA"] = float(res["target_in_rate"])  # % of forget samples the target still looks "in" on
    return metrics


def _check_finite(model, splits: Splits, device) -> None:
    """A diverged model (NaN/inf outputs) is reported as such, not as a metric's confusing failure."""
    from ..errors import UnlearnkitError
    from ..inference import predict

    logits, _ = predict(model, splits.forget, device=device)
    if not torch.isfinite(logits).all():
        raise UnlearnkitError("the unlearned model diverged (non-finite outputs)")


def run_method_job(job: MethodJob) -> dict:
    """Run one method on the job's original and request and evaluate it: ``{"metrics", "rte"}``.

    ``rte`` times the unlearning step alone (``run_method``'s meter), never the loading or the evaluation.
    """
    from ..checkpoint import load_model
    from ..methods import UnlearnContext, get_method, run_method
    from ..workflows import load_data, splits_for

    device = torch.device(job.device)
    data = load_data(job.data, job.data_root)
    original, meta = load_model(job.original)
    splits = splits_for(job.request, data)
    ctx = UnlearnContext.from_splits(splits, job.request, original, device=device, seed=job.seed, meta=meta,
                                     progress=False)
    spec = get_method(job.method)
    unlearned, rte = run_method(spec.name, original, ctx, params=spec.make_params(job.params))
    shadows = None
    if job.shadows is not None:
        shadows = tuple([load_model(p)[0] for p in paths] for paths in job.shadows)
    return {"metrics": bench_metrics(unlearned, splits, device, job.seed, job.mia, shadows), "rte": rte}


@dataclass
class TrainJob:
    data: str
    model: str
    train_config: dict
    out: str  # checkpoint path; finished only when the job returns
    request: ForgetRequest | None = None
    device: str = "cpu"
    data_root: str | None = None
    resume: bool = False


def run_train_job(job: TrainJob) -> float:
    """Train (or resume) one original / retrained model into ``job.out``; returns its training seconds."""
    from ..train import TrainConfig
    from ..workflows import load_data, train_model

    data = load_data(job.data, job.data_root)
    _, meta, _ = train_model(data, job.model, TrainConfig.from_dict(job.train_config), job.out, request=job.request,
                             device=job.device, overwrite=True, resume=job.resume, progress=False,
                             description="retrain" if job.request is not None else "original")
    return float(meta["seconds"])

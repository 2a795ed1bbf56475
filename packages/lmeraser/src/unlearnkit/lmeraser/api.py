"""The operations behind the CLI, as importable functions: train, erase, evaluate.

Files: a checkpoint (``.pt``, see :mod:`.state`) per model; ``train`` writes ``<out>.json`` with its
figures and ``erase`` writes ``<out>.erase.json`` (the erase record). Every output path is checked with
``unlearnkit.shared.outputs.plan_outputs`` before any data or model is loaded (no output may be an input,
two outputs may not share a path, nothing existing is replaced without ``overwrite``); every write is atomic
and happens on rank 0 only; erase never writes to the checkpoint it started from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from unlearnkit.shared import distributed as dist
from unlearnkit.shared.data import ForgetRequest, load_dataset
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.shared.io import file_md5, save_json
from unlearnkit.shared.outputs import plan_outputs
from unlearnkit.shared.workflows import resolve_device as _resolve_device

from . import engine
from .config import LMEraserConfig
from .model import LMEraserModel
from .pipeline import Prepared, prepare, prepare_from_checkpoint
from .state import LMEraserState

__all__ = ["train_model", "erase_samples", "evaluate_checkpoint", "test_accuracy", "resolve_device",
           "read_erase_ids", "record_path"]


def resolve_device(device: str | None = None) -> torch.device:
    """``auto``/None: this rank's GPU when there is one, else the CPU; a bad name is a one-line error."""
    dev = _resolve_device(device or "auto")
    if dev.type == "cuda" and dev.index is None and dist.is_distributed():
        dev = torch.device("cuda", dist.local_rank())
    return dev


def record_path(out: str | Path, suffix: str) -> Path:
    out = Path(out)
    return out.with_name(out.stem + suffix)


def _start_distributed(num_gpus: int | None) -> None:
    dist.init_distributed()
    if num_gpus and num_gpus > 1 and dist.world_size() != num_gpus:
        raise UnlearnkitError(
            f"--num-gpus {num_gpus} needs one process per GPU: launch with "
            f"`torchrun --nproc-per-node {num_gpus} -m unlearnkit.lmeraser.cli ...` (see packages/lmeraser/scripts)")


@torch.no_grad()
def test_accuracy(state: LMEraserState, prep: Prepared, device="cpu", batch_size: int = 256) -> float:
    model = LMEraserModel(state, prep.backbone).to(device)
    correct = 0
    for start in range(0, len(prep.test_set), batch_size):
        idx = range(start, min(start + batch_size, len(prep.test_set)))
        x = torch.stack([prep.test_set[i][0] for i in idx]).to(device)
        correct += int((model(x).argmax(1).cpu().numpy() == prep.test_set.targets[list(idx)]).sum())
    return 100.0 * correct / max(1, len(prep.test_set))


def train_model(cfg: LMEraserConfig, *, out: str | Path, overwrite: bool = False, dataset: str = "digits",
                base_dir: str | None = None, backbone: str = "embedded", checkpoint: str | None = None,
                md5: str | None = None, public_size: int | None = None, device: str | None = None,
                num_gpus: int | None = None, progress: bool = True, download: bool = False) -> tuple[LMEraserState, dict[str, Any]]:
    """Train every cluster and save the checkpoint plus ``<out>.json`` (figures)."""
    out = Path(out)
    summary_path = record_path(out, ".json")
    plan_outputs({"--out": out, "summary": summary_path}, inputs={"--checkpoint": checkpoint},
                 overwrite=overwrite)
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise UnlearnkitError(f"--checkpoint {checkpoint}: backbone weights not found")
    _start_distributed(num_gpus)
    dev = resolve_device(device)
    if download:  # rank 0 fetches, the others wait, so no two processes write the same files
        if dist.is_main():
            for split in ("train", "test"):
                load_dataset(dataset, split, root=base_dir, download=True)
        dist.barrier()
    prep = prepare(dataset=dataset, base_dir=base_dir, backbone=backbone, checkpoint=checkpoint, md5=md5,
                   public_size=public_size, device=dev)
    state = engine.train(cfg, prep.backbone, prep.store, prep.public_ids, prep.private_ids,
                         num_classes=prep.num_classes, image_size=prep.spec.image_size, in_chans=prep.spec.in_chans,
                         device=dev, progress=progress, backbone_info=prep.backbone_info, pipeline=prep.pipeline)
    summary = {
        "checkpoint": str(out), "num_clusters": state.partition.num_clusters,
        "cluster_sizes": [len(m) for m in state.partition.members], "private_samples": len(prep.private_ids),
        "public_samples": len(prep.public_ids), "full_train_seconds": state.full_train_seconds,
        "test_accuracy": test_accuracy(state, prep, dev), "world_size": dist.world_size(),
        "config": cfg.to_dict(), "backbone": state.backbone,
    }
    if dist.is_main():
        state.save(out, overwrite=True)  # checked before the work; atomic
        save_json(summary_path, summary)
    dist.barrier()
    return state, summary


def read_erase_ids(*, request: str | Path | None, state: LMEraserState, prep: Prepared | None = None,
                   ignore_public: bool = False, ids_file: str | Path | None = None,
                   train=None) -> tuple[np.ndarray, list[int]]:
    """The ids to erase, from a forget request or a plain index file (``ForgetRequest.from_file``: checked
    against the training set ``train``, or ``prep``'s, out-of-range ids refused); public ids are refused
    unless ``ignore_public`` (then they are dropped and reported)."""
    if (ids_file is None) == (request is None):
        raise UnlearnkitError("give exactly one of --request FILE or --ids FILE")
    if train is None:
        if prep is None:
            raise UnlearnkitError("read_erase_ids needs the training set (train=) or a Prepared (prep=)")
        train = prep.train_set
    req = ForgetRequest.from_file(train, request if request is not None else ids_file)
    ids = np.asarray(req.indices, dtype=np.int64)
    skipped: list[int] = []
    if ignore_public:
        public = np.isin(ids, state.public_ids)
        skipped = ids[public].tolist()
        ids = ids[~public]
    return ids, skipped


def erase_samples(checkpoint: str | Path, *, out: str | Path, ids_file: str | Path | None = None,
                  request: str | Path | None = None, overwrite: bool = False, ignore_public: bool = False,
                  device: str | None = None, num_gpus: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Retrain the clusters that hold the ids; write a new checkpoint and ``<out>.erase.json``."""
    checkpoint, out = Path(checkpoint), Path(out)
    rec_path = record_path(out, ".erase.json")
    if (ids_file is None) == (request is None):
        raise UnlearnkitError("give exactly one of --request FILE or --ids FILE")
    source = request if request is not None else ids_file
    if out.exists() and out.resolve() == checkpoint.resolve():
        raise UnlearnkitError(f"--out {out}: erase never modifies its input checkpoint; give another --out path")
    plan_outputs({"--out": out, "erase record": rec_path}, inputs={"--checkpoint": checkpoint, "--request": source},
                 overwrite=overwrite)
    if not Path(source).is_file():
        raise UnlearnkitError(f"--request {source}: file not found")
    _start_distributed(num_gpus)
    dev = resolve_device(device)
    state = LMEraserState.load(checkpoint)
    # The request is read against the training set before the (possibly large) backbone is loaded.
    if not state.pipeline.get("dataset"):
        raise UnlearnkitError(f"{checkpoint} does not say which data set it was trained on")
    native = load_dataset(state.pipeline["dataset"], "train", root=state.pipeline.get("base_dir"))
    ids, skipped = read_erase_ids(request=source, state=state, train=native, ignore_public=ignore_public)
    prep = prepare_from_checkpoint(state.pipeline, state.backbone, device=dev)
    new, record = engine.erase(state, ids, prep.backbone, prep.store, device=dev, progress=progress)
    record.update({
        "source_checkpoint": str(checkpoint), "source_md5": file_md5(checkpoint), "checkpoint": str(out),
        "skipped_public_ids": skipped, "test_accuracy": test_accuracy(new, prep, dev),
        "world_size": dist.world_size(),
    })
    if dist.is_main():
        new.save(out, overwrite=True)  # checked before the work; atomic
        save_json(rec_path, record)
    dist.barrier()
    return record


def evaluate_checkpoint(checkpoint: str | Path, *, device: str | None = None) -> dict[str, Any]:
    """Test accuracy and the clusters' state of a checkpoint."""
    dev = resolve_device(device)
    state = LMEraserState.load(checkpoint)
    prep = prepare_from_checkpoint(state.pipeline, state.backbone, device=dev)
    return {
        "checkpoint": os.fspath(checkpoint), "test_accuracy": test_accuracy(state, prep, dev),
        "num_clusters": state.partition.num_clusters,
        "active_clusters": int(state.partition.active().sum()), "private_samples": len(state.private_ids),
        "erased_samples": len(state.erased_ids), "erase_requests": len(state.history),
        "method": state.config.method,
    }

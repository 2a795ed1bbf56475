"""``unlearnkit bench``: every method, on the same forget requests, against the same retrained model.

Everything expensive is cached by a hash of its configuration (original model, retrained models, each
method run), so a killed bench resumes where it stopped and a second bench reuses the first one's models.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..checkpoint import is_complete, load_model, partial_path
from ..data import ForgetRequest
from ..evaluation import evaluate_unlearning
from ..io import load_json, save_json
from ..methods import METHODS, UnlearnContext, discover_methods, get_method, run_method
from ..train import TrainConfig
from ..workflows import DataBundle, default_config, load_data, resolve_device, splits_for, train_model
from .requests import DEFAULT_REQUESTS, parse_request

ORIGINAL, RETRAIN = "original", "retrain"


@dataclass
class BenchConfig:
    data: str = "digits"
    model: str = "lenet5"
    requests: tuple[str, ...] = DEFAULT_REQUESTS
    methods: tuple[str, ...] | None = None  # None: every registered method that applies
    seeds: int = 1
    seed: int = 0
    device: str | None = None
    out_dir: str = "bench-out"
    data_root: str | None = None
    download: bool = False
    train: dict = field(default_factory=dict)  # overrides of the original's TrainConfig
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # method -> overrides
    mia: bool = True
    ulira: int = 0  # opt-in U-LiRA: N shadow originals and N shadow retrains per request (costly)
    progress: bool | None = None


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class RunRecord:
    method: str
    request: str  # checksum
    seed: int
    metrics: dict[str, float]
    rte: dict[str, float]
    status: str = "ok"
    note: str = ""
    key: str = ""


class Bench:
    def __init__(self, cfg: BenchConfig, log=print):
        self.cfg = cfg
        self.log = log
        self.out = Path(cfg.out_dir)
        self.device = resolve_device(cfg.device)
        self.data: DataBundle = load_data(cfg.data, cfg.data_root, cfg.download)
        self.train_cfg: TrainConfig = default_config(cfg.data, seed=cfg.seed, **cfg.train)

    # -- models ------------------------------------------------------------------------------------

    def _trained(self, role: str, seed: int, request: ForgetRequest | None):
        tcfg = TrainConfig.from_dict({**self.train_cfg.to_dict(), "seed": seed})
        key = _hash({"data": self.cfg.data, "model": self.cfg.model, "train": tcfg.to_dict(),
                     "request": request.checksum if request else None})
        path = self.out / "cache" / f"{role}-{key}.pt"
        if is_complete(path):  # only a finished training whose configuration hashes to this key
            model, meta = load_model(path)
            if meta.get("train_config") == tcfg.to_dict():
                self.log(f"reusing {role} model {path}")
                return model, meta
        elif path.exists():
            self.log(f"warning: {path} is unreadable or unfinished; training it again")
        resume = partial_path(path).exists()
        self.log(f"{'resuming' if resume else 'training'} {role} model ({tcfg.epochs} epochs) -> {path}")
        model, meta, _ = train_model(self.data, self.cfg.model, tcfg, path, request=request, device=str(self.device),
                                     overwrite=True, resume=resume, progress=self.cfg.progress, description=role)
        return model, meta

    def original(self):
        return self._trained(ORIGINAL, self.cfg.seed, None)

    # -- runs --------------------------------------------------------------------------------------

    def method_names(self) -> list[str]:
        discover_methods()
        if self.cfg.methods:
            return [get_method(m).name for m in self.cfg.methods if m not in (ORIGINAL, RETRAIN)]
        return [name for name, spec in METHODS.items() if not spec.reference]

    def run(self) -> dict:
        original, orig_meta = self.original()
        requests = [parse_request(s, self.data.train, seed=self.cfg.seed) for s in self.cfg.requests]
        records: list[RunRecord] = []
        for request in requests:
            request.save(self.out / "requests" / f"{request.kind}-{request.short_id}.json", overwrite=True)
            splits = splits_for(request, self.data)
            self.log(request.describe())
            for i in range(self.cfg.seeds):
                seed = self.cfg.seed + i
                records += self._runs_for(request, splits, seed, original, orig_meta)
        return self._summarise(requests, records, orig_meta)

    def _cached(self, path: Path, key: str) -> RunRecord | None:
        if path.exists():
            rec = load_json(path)
            if rec.get("key") == key:
                return RunRecord(**rec)
        return None

    def _runs_for(self, request, splits, seed, original, orig_meta) -> list[RunRecord]:
        run_dir = self.out / "runs" / request.short_id
        recs = []
        # The original model: what "doing nothing" scores.
        shadows = self._shadows(request, seed) if self.cfg.ulira else None
        key = _hash({"original": orig_meta.get("train_config"), "seed": seed, "req": request.checksum,
                     "ulira": self.cfg.ulira})
        path = run_dir / f"{ORIGINAL}-s{seed}.json"
        rec = self._cached(path, key)
        if rec is None:
            rec = RunRecord(ORIGINAL, request.checksum, seed, self._evaluate(original, splits, seed, shadows),
                            {"seconds": 0.0, "peak_mem_mb": 0.0}, key=key)
            save_json(path, asdict(rec))
        recs.append(rec)
        # The gold standard.
        key = _hash({"retrain": self.train_cfg.to_dict(), "seed": seed, "req": request.checksum,
                     "model": self.cfg.model, "ulira": self.cfg.ulira})
        path = run_dir / f"{RETRAIN}-s{seed}.json"
        rec = self._cached(path, key)
        if rec is None:
            model, meta = self._trained(RETRAIN, seed, request)
            rec = RunRecord(RETRAIN, request.checksum, seed, self._evaluate(model, splits, seed, shadows),
                            {"seconds": float(meta.get("seconds", float("nan"))), "peak_mem_mb": float("nan")},
                            key=key)
            save_json(path, asdict(rec))
        recs.append(rec)
        ctx = UnlearnContext.from_splits(splits, request, original, device=self.device, seed=seed, meta=orig_meta,
                                         progress=self.cfg.progress)
        for name in self.method_names():
            spec = get_method(name)
            params = spec.make_params(self.cfg.params.get(name, {}))
            key = _hash({"method": name, "params": asdict(params) if hasattr(params, "__dataclass_fields__") else {},
                         "seed": seed, "req": request.checksum, "original": orig_meta.get("train_config"),
                         "model": self.cfg.model, "ulira": self.cfg.ulira})
            path = run_dir / f"{name}-s{seed}.json"
            rec = self._cached(path, key)
            if rec is not None:
                recs.append(rec)
                continue
            ok, why = spec.applicable(ctx)
            if not ok:
                rec = RunRecord(name, request.checksum, seed, {}, {}, status="skipped", note=why, key=key)
            else:
                self.log(f"  {name} (seed {seed})")
                try:
                    model, rte = run_method(name, original, ctx, params=params)
                    metrics = self._evaluate(model, splits, seed, shadows)
                    rec = RunRecord(name, request.checksum, seed, metrics, rte, key=key)
                except Exception as err:  # one broken method must not lose the others' results
                    rec = RunRecord(name, request.checksum, seed, {}, {}, status="failed",
                                    note=f"{type(err).__name__}: {err}".splitlines()[0][:300], key=key)
                    self.log(f"  {name} failed: {rec.note}")
            save_json(path, asdict(rec))
            recs.append(rec)
        return recs

    def _shadows(self, request: ForgetRequest, seed: int):
        """U-LiRA's reference populations: models that trained on the forget set and models that did not."""
        seeds = [seed + 1000 + i for i in range(self.cfg.ulira)]
        ins = [self._trained(ORIGINAL, s, None)[0] for s in seeds]
        outs = [self._trained(RETRAIN, s, request)[0] for s in seeds]
        return ins, outs

    def _evaluate(self, model, splits, seed: int, shadows) -> dict[str, float]:
        metrics = evaluate_unlearning(model, splits, self.device, mia=self.cfg.mia, seed=seed)
        if shadows is not None:
            from ..metrics import ulira_attack

            res = ulira_attack(model, shadows[0], shadows[1], splits.forget, device=self.device)
            metrics["ULiRA"] = float(res["target_in_rate"])  # % of forget samples the target still looks "in" on
        return metrics

    # -- summary -----------------------------------------------------------------------------------

    def _summarise(self, requests, records: list[RunRecord], orig_meta) -> dict:
        from .summary import summarise

        results = summarise(requests, records)
        results["meta"] = {
            "unlearnkit": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "device": str(self.device), "data": self.cfg.data, "model": self.cfg.model,
            "seeds": [self.cfg.seed + i for i in range(self.cfg.seeds)], "train_config": self.train_cfg.to_dict(),
            "original_test_acc": orig_meta.get("test_acc"), "params": self.cfg.params,
            "requests": {r.checksum: r.to_dict() | {"indices": f"{len(r.indices)} indices"} for r in requests},
        }
        return results

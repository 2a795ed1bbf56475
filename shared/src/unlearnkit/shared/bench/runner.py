"""``unlearnkit bench``: every method, on the same forget requests, against the same retrained model.

Trust before speed:
- Models are cached by a hash of everything that changes their weights (data, model, recipe, seed, request,
  torch threads, device, torch version); only *finished* checkpoints are reused, a killed training resumes
  from its ``.partial`` file and reaches the same weights.
- Each method run is its own child process (``isolation.run_isolated``): a crash or a hang costs that run
  only, and its peak memory is its own. Run files are checked when read (see ``cache``).
- One bench per output folder (a lock), so two benches never mix their runs.
- ``seeds`` repeats everything per seed (original, retrain, every method); Avg. Gap compares each run with
  the same seed's retrain, and tables show mean ± std.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..checkpoint import is_complete, load_model, partial_path
from ..data import ForgetRequest
from ..errors import UnlearnkitError
from ..isolation import IsolatedError, run_isolated
from ..methods import METHODS, UnlearnContext, discover_methods, get_method
from ..threads import apply_threads, choose_jobs, choose_threads
from ..train import TrainConfig
from ..versions import environment, installed_versions
from ..workflows import DataBundle, default_config, load_data, resolve_device, splits_for
from .cache import SCHEMA, BenchLock, RunRecord, check_out_dir, key_of, read_record, write_record
from .jobs import MethodJob, TrainJob, bench_metrics, run_method_job, run_train_job
from .presets import preset_params
from .requests import DEFAULT_REQUESTS, parse_request

ORIGINAL, RETRAIN = "original", "retrain"


@dataclass
class BenchConfig:
    data: str = "digits"
    model: str = "lenet5"
    requests: tuple[str, ...] = DEFAULT_REQUESTS
    methods: tuple[str, ...] | None = None  # None: every registered method that applies
    seeds: int = 3
    seed: int = 0
    device: str | None = None
    out_dir: str = "bench-out"
    data_root: str | None = None
    download: bool = False
    train: dict = field(default_factory=dict)  # overrides of the original's TrainConfig
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # method -> overrides of the presets
    presets: bool = True  # start from the data set's tuned presets (bench/presets/<data>.json)
    mia: bool = True
    ulira: int = 0  # opt-in U-LiRA: N shadow originals and N shadow retrains per request (costly)
    threads: int | None = None  # torch CPU threads; None: threads.choose_threads
    jobs: int | None = None  # runs at a time (each its own process); None: cores // threads on CPU, 1 on GPU
    timeout: float | None = None  # seconds per method run; None: no limit
    progress: bool | None = None
    overwrite: bool = False  # allow a non-empty --out folder that no bench made


def _hash(obj: Any) -> str:
    return key_of(obj)


class Bench:
    def __init__(self, cfg: BenchConfig, log=print):
        self.cfg = cfg
        self.log = log
        self.out = Path(cfg.out_dir)
        check_out_dir(self.out, cfg.overwrite)  # before any work
        self.device = resolve_device(cfg.device)
        self.threads = choose_threads(cfg.threads, str(self.device), cfg.model)
        self.jobs = choose_jobs(cfg.jobs, str(self.device), self.threads)
        self.data: DataBundle = load_data(cfg.data, cfg.data_root, cfg.download)
        self.train_cfg: TrainConfig = default_config(cfg.data, seed=cfg.seed, **cfg.train)
        self.cpu_seconds = 0.0  # CPU time of this invocation's child runs: what they would take on idle cores

    @property
    def seeds(self) -> list[int]:
        return [self.cfg.seed + i for i in range(self.cfg.seeds)]

    def env_key(self) -> dict:
        """What changes the numbers besides the configuration: threads, device, torch and our versions."""
        return {"threads": self.threads, "device": str(self.device), "torch": torch.__version__,
                "packages": installed_versions(), "schema": SCHEMA}

    # -- models ------------------------------------------------------------------------------------

    def _model_path(self, role: str, seed: int, request: ForgetRequest | None) -> tuple[Path, TrainConfig, str]:
        tcfg = TrainConfig.from_dict({**self.train_cfg.to_dict(), "seed": seed})
        key = _hash({"data": self.cfg.data, "model": self.cfg.model, "train": tcfg.to_dict(),
                     "request": request.checksum if request else None, **self.env_key()})
        return self.out / "cache" / f"{role}-{key}.pt", tcfg, key

    def _trained(self, role: str, seed: int, request: ForgetRequest | None):
        """The finished model of ``role``/``seed``/``request``: ``(model, meta, path)``, trained if missing."""
        path, tcfg, _ = self._model_path(role, seed, request)
        found = self._finished(path, tcfg)
        if found is None:
            self._train_missing([(role, seed, request)])
            found = self._finished(path, tcfg)
        return (*found, path)

    def _finished(self, path: Path, tcfg: TrainConfig):
        if is_complete(path):  # only a finished training whose configuration hashes to this key
            model, meta = load_model(path)
            if meta.get("train_config") == tcfg.to_dict():
                return model, meta
        return None

    def _train_missing(self, wanted: list[tuple[str, int, ForgetRequest | None]]) -> None:
        """Train every model of ``wanted`` that has no finished checkpoint, ``self.jobs`` at a time.

        Each training is a child process; a killed bench leaves ``.partial`` files that the next one resumes.
        """
        tasks = []
        for role, seed, request in wanted:
            path, tcfg, _ = self._model_path(role, seed, request)
            if path in {t[0] for t in tasks} or self._finished(path, tcfg) is not None:
                continue
            if path.exists():
                self.log(f"warning: {path} is unreadable or unfinished; training it again")
            resume = partial_path(path).exists()
            self.log(f"{'resuming' if resume else 'training'} {role} model (seed {seed}, {tcfg.epochs} epochs) "
                     f"-> {path}")
            job = TrainJob(self.cfg.data, self.cfg.model, tcfg.to_dict(), str(path), request, str(self.device),
                           self.cfg.data_root, resume)
            tasks.append((path, job))
        for path, res in zip([t[0] for t in tasks], self._parallel(run_train_job, [t[1] for t in tasks]),
                             strict=True):
            if isinstance(res, IsolatedError):
                raise UnlearnkitError(f"training {path.name} failed: {res}")
            self.log(f"  trained {path.name}: {res.seconds:.1f} s ({res.cpu_seconds:.1f} s CPU)")

    def _parallel(self, fn, jobs: list, done=None, timeout: float | None = None) -> list:
        """``run_isolated(fn, job)`` for every job, ``self.jobs`` at a time; results (or the IsolatedError) in
        the jobs' order. ``done(i, result)`` runs as each finishes, so a killed bench keeps what finished."""
        lock = threading.Lock()

        def one(item):
            i, job = item
            try:
                res = run_isolated(fn, job, timeout=timeout, device=self.device)
                with lock:
                    self.cpu_seconds += res.cpu_seconds
            except IsolatedError as err:
                res = err
            return done(i, res) if done is not None else res

        if self.jobs == 1 or len(jobs) < 2:
            return [one(item) for item in enumerate(jobs)]
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            return list(pool.map(one, enumerate(jobs)))

    def original(self, seed: int | None = None):
        """The original model of ``seed`` (trained once, shared by every request): ``(model, meta, path)``."""
        return self._trained(ORIGINAL, self.cfg.seed if seed is None else seed, None)

    # -- runs --------------------------------------------------------------------------------------

    def method_names(self) -> list[str]:
        discover_methods()
        if self.cfg.methods:
            return [get_method(m).name for m in self.cfg.methods if m not in (ORIGINAL, RETRAIN)]
        return [name for name, spec in METHODS.items() if not spec.reference]

    def params_for(self, name: str, kind: str) -> dict:
        """The data set's tuned preset for this request kind, then the user's overrides."""
        base = preset_params(self.cfg.data, name, kind) if self.cfg.presets else {}
        return {**base, **self.cfg.params.get(name, {})}

    def run(self) -> dict:
        with BenchLock(self.out):
            previous = torch.get_num_threads()
            apply_threads(self.threads)
            try:
                return self._run()
            finally:
                torch.set_num_threads(previous)

    def _run(self) -> dict:
        names = self.method_names()  # unknown names fail before any work
        requests = [parse_request(s, self.data.train, seed=self.cfg.seed) for s in self.cfg.requests]
        for request in requests:
            request.save(self.out / "requests" / f"{request.kind}-{request.short_id}.json", overwrite=True)
        # Every model first (in parallel): originals per seed, then the retrains whose runs are not cached.
        wanted = [(ORIGINAL, seed, None) for seed in self.seeds]
        for request in requests:
            for seed in self.seeds:
                if self.cfg.ulira or self._cached_run(RETRAIN, request, seed) is None:
                    wanted.append((RETRAIN, seed, request))
                wanted += self._shadow_specs(request, seed)
        self._train_missing(wanted)
        originals = {seed: self.original(seed) for seed in self.seeds}
        # Then every run: the reference rows here, the methods in child processes, jobs at a time.
        records: list[RunRecord | None] = []
        pending: list[tuple[int, str, MethodJob, Path, str, dict]] = []
        for request in requests:
            splits = splits_for(request, self.data)
            self.log(request.describe())
            for seed in self.seeds:
                records += self._reference_runs(request, splits, seed, originals[seed])
                model, meta, orig_path = originals[seed]
                ctx = UnlearnContext.from_splits(splits, request, model, device=self.device, seed=seed, meta=meta,
                                                 progress=False)
                for name in names:
                    rec, job = self._method_task(name, request, ctx, seed, orig_path)
                    if job is not None:
                        pending.append((len(records), *job))
                    records.append(rec)
        def done(j, res):
            i, name, job, path, key, overrides = pending[j]
            records[i] = self._method_record(name, job, path, key, overrides, res)

        self._parallel(run_method_job, [p[2] for p in pending], done, timeout=self.cfg.timeout)
        return self._summarise(requests, records, originals[self.cfg.seed][1])

    def _common(self, request, seed: int) -> dict:
        orig_path = self._model_path(ORIGINAL, seed, None)[0]
        return {"seed": seed, "req": request.checksum, "mia": self.cfg.mia, "ulira": self.cfg.ulira,
                "original": orig_path.name, **self.env_key()}

    def _run_file(self, name: str, request, seed: int) -> Path:
        return self.out / "runs" / request.short_id / f"{name}-s{seed}.json"

    def _cached_run(self, role: str, request, seed: int) -> RunRecord | None:
        key = self._reference_key(role, request, seed)
        return read_record(self._run_file(role, request, seed), key, lambda msg: None)  # warned when read again

    def _reference_key(self, role: str, request, seed: int) -> str:
        extra = {"model": self._model_path(RETRAIN, seed, request)[0].name} if role == RETRAIN else {}
        return _hash({"role": role, **extra, **self._common(request, seed)})

    def _reference_runs(self, request, splits, seed, original) -> list[RunRecord]:
        """The original (what doing nothing scores) and the retrained gold standard, evaluated here."""
        shadows = self._shadow_paths(request, seed)
        shadow_models = tuple([load_model(p)[0] for p in paths] for paths in shadows) if shadows else None
        recs = []
        for role in (ORIGINAL, RETRAIN):
            key = self._reference_key(role, request, seed)
            path = self._run_file(role, request, seed)
            rec = read_record(path, key, self.log)
            if rec is None:
                if role == ORIGINAL:
                    model, seconds = original[0], 0.0
                else:
                    model, meta, _ = self._trained(RETRAIN, seed, request)
                    seconds = float(meta.get("seconds", float("nan")))
                metrics = bench_metrics(model, splits, self.device, seed, self.cfg.mia, shadow_models)
                rec = RunRecord(role, request.checksum, seed, metrics, {"seconds": seconds, "peak_mem_mb": float("nan")},
                                key=key)
                write_record(path, rec)
            recs.append(rec)
        return recs

    def _method_task(self, name, request, ctx, seed, orig_path):
        """The cached record, or a placeholder and the job that computes it."""
        spec = get_method(name)
        overrides = self.params_for(name, request.kind)
        params = spec.make_params(overrides)
        params_dict = asdict(params) if is_dataclass(params) else {}
        key = _hash({"method": name, "params": params_dict, **self._common(request, seed)})
        path = self._run_file(name, request, seed)
        rec = read_record(path, key, self.log)
        if rec is not None:
            return rec, None
        ok, why = spec.applicable(ctx)
        if not ok:
            rec = RunRecord(name, request.checksum, seed, {}, {}, status="skipped", note=why, key=key)
            write_record(path, rec)
            return rec, None
        job = MethodJob(method=name, params=overrides, seed=seed, data=self.cfg.data, original=str(orig_path),
                        request=request, device=str(self.device), data_root=self.cfg.data_root, mia=self.cfg.mia,
                        shadows=self._shadow_paths(request, seed))
        return None, (name, job, path, key, overrides)

    def _method_record(self, name, job: MethodJob, path, key, overrides, res) -> RunRecord:
        job_request, seed = job.request, job.seed
        if isinstance(res, IsolatedError):  # one broken method must not lose the others' results; retried next time
            self.log(f"  {name} (seed {seed}) failed: {res}")
            note = str(res).split(" failed: ", 1)[-1].removeprefix("UnlearnkitError: ")  # the cause, short
            return RunRecord(name, job_request.checksum, seed, {}, {}, status="failed", note=note[:300], key=key,
                             params=overrides)
        rte = {**res.value["rte"], "run_seconds": res.seconds, "run_cpu_seconds": res.cpu_seconds}
        self.log(f"  {name} ({job_request.kind}, seed {seed}): {rte['seconds']:.2f} s")
        rec = RunRecord(name, job_request.checksum, seed, res.value["metrics"], rte, key=key, params=overrides)
        write_record(path, rec)
        return rec

    def _shadow_specs(self, request, seed: int) -> list:
        seeds = [seed + 1000 + i for i in range(self.cfg.ulira)]
        return [(ORIGINAL, s, None) for s in seeds] + [(RETRAIN, s, request) for s in seeds]

    def _shadow_paths(self, request, seed: int) -> tuple[list[str], list[str]] | None:
        """U-LiRA's reference populations: models that trained on the forget set and models that did not."""
        if not self.cfg.ulira:
            return None
        specs = self._shadow_specs(request, seed)
        paths = [str(self._model_path(role, s, r)[0]) for role, s, r in specs]  # trained before any run
        return paths[: self.cfg.ulira], paths[self.cfg.ulira:]

    # -- summary -----------------------------------------------------------------------------------

    def _summarise(self, requests, records: list[RunRecord], orig_meta) -> dict:
        from .summary import summarise

        results = summarise(requests, records)
        results["meta"] = {
            "unlearnkit": __version__, **environment(), "device": str(self.device), "threads": self.threads,
            "data": self.cfg.data, "model": self.cfg.model, "seeds": self.seeds,
            "train_config": self.train_cfg.to_dict(), "original_test_acc": orig_meta.get("test_acc"),
            "params": self.cfg.params, "presets": self.cfg.presets, "timeout": self.cfg.timeout, "jobs": self.jobs,
            "child_cpu_seconds": self.cpu_seconds,
            "requests": {r.checksum: r.to_dict() | {"indices": f"{len(r.indices)} indices"} for r in requests},
        }
        return results

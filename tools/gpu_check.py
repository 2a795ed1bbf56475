"""The driver of tools/gpu_check.sh: run each GPU check step under its own timeout and record it as JSON.

    python3 tools/gpu_check.py OUTDIR [--tiny] [--budget SECONDS]

Writes, at the top level of OUTDIR (7 files): setup.json, cuda_tests.json, train_throughput.json,
lmeraser.json, slug.json, digits_bench.json and summary.json. Each step file holds ``status`` (pass | fail |
timeout | skipped), ``seconds``, the command, the tail of its output and the figures the step produced. A
failing or hanging step never stops the others; the whole run stays within ``--budget`` seconds (default
460, so the check fits 8 minutes with the set-up): a step gets its own share plus whatever earlier steps
left unused. ``--tiny`` runs the same steps on the CPU at tiny sizes (the test suite does, in a minute or two).
Standard library only at import: it must start before anything is known to work.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAIL = 4000

# name -> share of the budget (seconds) on a GPU; the sum is the default budget
SHARES = {"setup": 60, "cuda_tests": 120, "train_throughput": 90, "lmeraser": 50, "slug": 40, "digits_bench": 100}
# CPU caps: about two minutes on an idle 2-core machine, but a loaded one imports torchvision 4x slower
TINY_SHARES = {"setup": 120, "cuda_tests": 120, "train_throughput": 150, "lmeraser": 150, "slug": 150,
               "digits_bench": 250}

PROBE = r"""
import json, importlib.metadata as md, torch
out = {"torch": torch.__version__, "cuda_available": torch.cuda.is_available(),
       "cuda_version": torch.version.cuda}
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    out.update(device_name=p.name, device_memory_gib=round(p.total_memory / 2**30, 1),
               bf16=torch.cuda.is_bf16_supported(), nccl=torch.distributed.is_nccl_available())
mods = {}
for m in ["unlearnkit.shared", "unlearnkit.lmeraser", "unlearnkit.slug", "unlearnkit.scar", "unlearnkit.ps_unlearn",
          "unlearnkit.spkd_transfer", "open_clip", "webdataset", "braceexpand", "timm", "torchvision", "sklearn"]:
    try:
        mod = __import__(m, fromlist=["_"])
        mods[m] = getattr(mod, "__version__", "ok")
    except Exception as e:
        mods[m] = "MISSING: " + str(e).splitlines()[0]
out["imports"] = mods
out["method_entry_points"] = sorted(ep.name for ep in md.entry_points(group="unlearnkit.methods"))
from unlearnkit.shared.methods import list_methods
out["methods"] = sorted(s.name for s in list_methods())
print("PROBE " + json.dumps(out))
"""


def run(cmd: list[str], timeout: float, env: dict, cwd: Path = ROOT) -> dict:
    """Run ``cmd`` in its own process group; kill the whole group on timeout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=max(1.0, timeout))
        rc, timed_out = proc.returncode, False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        rc, timed_out = -9, True
    return {"command": " ".join(cmd), "rc": rc, "timed_out": timed_out, "seconds": round(time.perf_counter() - t0, 2),
            "output_tail": (out or "")[-TAIL:], "_output": out or ""}


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def cuda_test_files() -> list[str]:
    """Every test file that holds a ``cuda``-marked test (so no other file is imported on the node)."""
    files = []
    for pattern in ("shared/tests/test_*.py", "packages/*/tests/test_*.py", "tests/test_*.py"):
        for p in sorted(ROOT.glob(pattern)):
            if "pytest.mark.cuda" in p.read_text(errors="replace"):
                files.append(str(p.relative_to(ROOT)))
    return files


class Check:
    def __init__(self, out: Path, tiny: bool, budget: float, python: str):
        self.out, self.tiny, self.python = out, tiny, python
        shares = TINY_SHARES if tiny else SHARES
        scale = budget / sum(shares.values())
        self.shares = {k: v * scale for k, v in shares.items()}
        self.banked = 0.0  # seconds earlier steps left unused
        self.device = "cpu" if tiny else "cuda"
        self.work = Path(tempfile.mkdtemp(prefix="unlearnkit-gpu-check-"))
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1",
                    "TRANSFORMERS_OFFLINE": "1", "SLUG_QUIET": "1", "UNLEARNKIT_DATA": str(self.work / "data")}
        self.steps: dict[str, dict] = {}

    def step(self, name: str, cmd: list[str] | None, parse=None, skip: str | None = None) -> dict:
        limit = self.shares[name] + self.banked
        t0 = time.perf_counter()
        print(f"[gpu-check] {name} (timeout {limit:.0f} s) ...", flush=True)
        if skip is not None or cmd is None:
            rec = {"status": "skipped", "why": skip, "seconds": 0.0}
        else:
            rec = run(cmd, limit, self.env)
            out = rec.pop("_output")
            rec["status"] = "timeout" if rec["timed_out"] else ("pass" if rec["rc"] == 0 else "fail")
            if parse is not None:
                try:
                    rec.update(parse(out))
                except Exception as err:  # a parse failure is a finding, not a crash of the check
                    rec["parse_error"] = repr(err)
                if rec.get("check_failed") and rec["status"] == "pass":
                    rec["status"] = "fail"
        rec = {"step": name, "device": self.device, "tiny": self.tiny, **rec}
        self.banked = max(0.0, limit - (time.perf_counter() - t0))
        self.steps[name] = rec
        (self.out / f"{name}.json").write_text(json.dumps(rec, indent=2, default=str))
        print(f"[gpu-check] {name}: {rec['status']} in {rec['seconds']} s", flush=True)
        return rec

    # --- the steps ------------------------------------------------------------------------------------

    def setup(self) -> None:
        site = read_json(Path(os.environ["UNLEARNKIT_GPU_SITE_REPORT"])) if os.environ.get(
            "UNLEARNKIT_GPU_SITE_REPORT") else {}
        smi = shutil.which("nvidia-smi")
        gpu = {}
        if smi:
            r = run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], 30, self.env)
            gpu = {"nvidia_smi": r["_output"].strip(), "nvidia_smi_rc": r["rc"]}
        else:
            gpu = {"nvidia_smi": None}

        def parse(out: str) -> dict:
            line = next(li for li in out.splitlines() if li.startswith("PROBE "))
            probe = json.loads(line[6:])
            missing = [m for m, v in probe["imports"].items() if str(v).startswith("MISSING")]
            groups = {"lmeraser", "ps_unlearn", "scar", "slug", "spkd_transfer"}  # every package's entry point
            no_eps = sorted(groups - set(probe["method_entry_points"]))
            no_methods = sorted({"ps", "scar", "spkd", "ft", "salun"} - set(probe["methods"]))
            bad = missing or no_eps or no_methods or (not self.tiny and not probe["cuda_available"])
            return {"probe": probe, "missing_imports": missing, "missing_entry_points": no_eps,
                    "missing_methods": no_methods, "check_failed": bool(bad), **gpu,
                    "site": {k: site.get(k) for k in ("python", "executable", "site", "wheels", "pythonpath")}}

        self.step("setup", [self.python, "-c", PROBE], parse)

    def cuda_tests(self) -> None:
        files = cuda_test_files()

        def parse(out: str) -> dict:
            last = [li for li in out.strip().splitlines() if re.search(r"\d+ (passed|failed|skipped|error)", li)]
            counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)",
                                                       last[-1] if last else "")}
            failed = [li for li in out.splitlines() if li.startswith(("FAILED", "ERROR"))]
            return {"files": files, "counts": counts, "failed_tests": failed[:20],
                    "check_failed": not self.tiny and counts.get("passed", 0) == 0}

        self.step("cuda_tests", [self.python, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider",
                                 "-o", "addopts=--import-mode=importlib", *files], parse)

    def train_throughput(self) -> None:
        path = self.work / "train_throughput.json"
        cmd = [self.python, str(ROOT / "tools/bench_gpu_train.py"), "--device", self.device, "--json", str(path)]
        if self.tiny:
            cmd.append("--tiny")
        self.step("train_throughput", cmd, lambda out: {"result": read_json(path), "check_failed": not path.exists()})

    def digits_bench(self) -> None:
        bench_dir = self.work / "bench"
        short = ["--methods", "ft,rl,salun", "--epochs", "2", "--no-mia"] if self.tiny else ["--epochs", "10"]
        cmd = [self.python, "-m", "unlearnkit.shared.cli", "bench", "--out", str(bench_dir), "--device", self.device,
               "--request", "class:3", "--seeds", "1", *short]

        def parse(out: str) -> dict:
            results = read_json(bench_dir / "results.json")
            rows = results.get("runs", results.get("rows", results)) if isinstance(results, dict) else results
            md_table = (bench_dir / "results.md").read_text()[:6000] if (bench_dir / "results.md").exists() else None
            return {"form": "class:3 request, one seed, " + ("3 methods, 2-epoch models, no MIA" if self.tiny else
                                                    "all methods, 10-epoch original and retrain (default 30)"),
                    "results_md": md_table, "results": rows if len(json.dumps(rows, default=str)) < 60000 else None,
                    "check_failed": md_table is None}

        self.step("digits_bench", cmd, parse)

    def paper_step(self, name: str) -> None:
        path = self.work / f"{name}.json"
        cmd = [self.python, str(ROOT / "tools/gpu_check_steps.py"), name, "--device", self.device, "--json", str(path)]
        if self.tiny:
            cmd.append("--tiny")
        self.step(name, cmd, lambda out: {"result": read_json(path), "check_failed": not path.exists()})

    # --- the report -----------------------------------------------------------------------------------

    def summary(self, started: float) -> dict:
        tp = self.steps.get("train_throughput", {}).get("result", {})
        probe = self.steps.get("setup", {}).get("probe", {})
        summary = {
            "tiny": self.tiny, "device": self.device, "total_seconds": round(time.perf_counter() - started, 1),
            "device_name": probe.get("device_name") or self.steps.get("setup", {}).get("nvidia_smi"),
            "torch": probe.get("torch"), "passed": sum(s["status"] == "pass" for s in self.steps.values()),
            "steps": {k: {"status": s["status"], "seconds": s["seconds"]} for k, s in self.steps.items()},
            "cuda_tests": self.steps.get("cuda_tests", {}).get("counts"),
            "throughput": {k: tp.get(k) for k in ("model", "data", "fit_images_per_s", "bare_images_per_s", "ratio",
                                                  "fit_augmented_images_per_s", "meets_goal")},
            "lmeraser": {k: self.steps.get("lmeraser", {}).get("result", {}).get(k)
                         for k in ("train_seconds", "erase_seconds", "peak_mem_mb")},
            "slug": {k: self.steps.get("slug", {}).get("result", {}).get(k)
                     for k in ("forget_seconds", "retain_seconds", "peak_mem_mb")},
        }
        summary["ok"] = all(s["status"] == "pass" for s in self.steps.values())
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        return summary


def print_summary(s: dict) -> None:
    print("\n==== unlearnkit GPU check " + ("(--tiny, CPU) " if s["tiny"] else "") + "=" * 40)
    print(f"device: {s['device_name'] or s['device']}   torch {s['torch']}   total {s['total_seconds']} s")
    for name, st in s["steps"].items():
        print(f"  {name:18s} {st['status'].upper():8s} {st['seconds']:7.1f} s")
    if s["cuda_tests"]:
        print(f"  cuda tests: {s['cuda_tests']}")
    tp = s["throughput"]
    if tp.get("fit_images_per_s"):
        print(f"  {tp['model']} train on {tp['data']}: fit {tp['fit_images_per_s']:.0f} img/s, bare {tp['bare_images_per_s']:.0f} img/s, "
              f"ratio {tp['ratio']:.3f}, with GPU crop+flip {tp['fit_augmented_images_per_s']:.0f} img/s, "
              f"goal met: {tp['meets_goal']}")
    if s["lmeraser"].get("train_seconds") is not None:
        print(f"  LMEraser: train {s['lmeraser']['train_seconds']} s, erase {s['lmeraser']['erase_seconds']} s, "
              f"peak {s['lmeraser']['peak_mem_mb']} MiB")
    if s["slug"].get("forget_seconds") is not None:
        print(f"  SLUG grads: forget {s['slug']['forget_seconds']} s, retain {s['slug']['retain_seconds']} s, "
              f"peak {s['slug']['peak_mem_mb']} MiB")
    print(f"  => {'ALL PASSED' if s['ok'] else 'SOME STEPS FAILED'} ({s['passed']}/{len(s['steps'])})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--budget", type=float, default=None, help="seconds for all steps (default: the shares' sum)")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    budget = args.budget or sum((TINY_SHARES if args.tiny else SHARES).values())
    check = Check(args.out, args.tiny, budget, args.python)
    try:
        check.setup()
        check.cuda_tests()
        check.train_throughput()
        check.paper_step("lmeraser")
        check.paper_step("slug")
        check.digits_bench()  # last: the longest, it gets whatever the others left unused
    finally:
        summary = check.summary(started)
        shutil.rmtree(check.work, ignore_errors=True)
    print_summary(summary)
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()

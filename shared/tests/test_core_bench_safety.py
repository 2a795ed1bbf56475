"""The bench's numbers survive kill -9, concurrent benches and corrupt cache files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from unlearnkit.shared.bench import BenchConfig, run_bench

ARGS = ["--model", "mlp", "--request", "class:3", "--methods", "ft,rl", "--seeds", "1", "--epochs", "3",
        "--param", "ft.epochs=1", "--param", "rl.epochs=1", "--no-presets", "--no-mia"]
KEYS = ("UA", "RA", "TA", "AvgGap")


def _cfg(out) -> BenchConfig:  # the same bench as ARGS, in-process
    return BenchConfig(model="mlp", requests=("class:3",), methods=("ft", "rl"), seeds=1, out_dir=str(out),
                       train={"epochs": 3}, params={"ft": {"epochs": 1}, "rl": {"epochs": 1}}, presets=False,
                       mia=False, device="cpu", progress=False)


def _numbers(results: dict) -> dict:
    return {row["method"]: {k: row["metrics"][k]["mean"] for k in KEYS}
            for table in results["tables"] for row in table["rows"]}


def _bench_cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "unlearnkit.shared.cli", "bench", "--out", str(out), *ARGS]


def _start(out: Path, delay: float) -> subprocess.Popen:
    env = {**os.environ, "UNLEARNKIT_EPOCH_DELAY": str(delay)}
    return subprocess.Popen(_bench_cmd(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(out: Path, pattern: str, proc: subprocess.Popen, limit: float = 300) -> None:
    end = time.monotonic() + limit
    while not list(out.glob(f"cache/{pattern}")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < end, f"{pattern} never appeared"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted bench: the numbers every resumed one must reach."""
    out = tmp_path_factory.mktemp("uninterrupted")
    return out, _numbers(run_bench(_cfg(out), log=lambda m: None))


def _rerun(out: Path) -> dict:
    done = subprocess.run(_bench_cmd(out), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return _numbers(json.loads((out / "results.json").read_text()))


@pytest.mark.parametrize("role", ["original", "retrain"])
def test_kill_9_during_training_then_rerun_equals_uninterrupted(role, reference, tmp_path):
    out = tmp_path / "killed"
    proc = _start(out, delay=1.5)
    try:
        _wait_for(out, f"{role}-*.pt.partial", proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list((out / "cache").glob(f"{role}-*.pt"))  # the killed training left only its .partial
    assert not (out / "results.json").exists()
    assert _rerun(out) == reference[1]


def test_corrupt_cache_entries_are_recomputed_with_a_warning(reference, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(reference[0], out)
    (orig,) = (out / "cache").glob("original-*.pt")
    orig.write_bytes(orig.read_bytes()[:200])  # a truncated checkpoint
    run_dir = next((out / "runs").iterdir())
    (run_dir / "ft-s0.json").write_text('{"method": "ft", "metr')  # garbled JSON
    rl = json.loads((run_dir / "rl-s0.json").read_text())
    (run_dir / "rl-s0.json").write_text(json.dumps({**rl, "status": "running"}))  # not finished
    logs: list[str] = []
    again = run_bench(_cfg(out), log=logs.append)
    warnings = [line for line in logs if line.startswith("warning:")]
    assert len(warnings) == 3 and all("\n" not in w for w in warnings)
    assert _numbers(again) == reference[1]


def test_an_unfinished_checkpoint_is_never_reused_as_finished(reference, tmp_path):
    import torch

    out = tmp_path / "copy"
    shutil.copytree(reference[0], out)
    (retrain,) = (out / "cache").glob("retrain-*.pt")
    ckpt = torch.load(retrain, weights_only=True)
    ckpt["meta"]["complete"] = False  # e.g. a partial file renamed into place by an older version
    torch.save(ckpt, retrain)
    for run in (out / "runs").rglob("retrain-*.json"):
        run.unlink()
    logs: list[str] = []
    again = run_bench(_cfg(out), log=logs.append)
    assert any(line.startswith("training retrain") for line in logs)
    assert _numbers(again) == reference[1]


def test_a_second_bench_on_the_same_folder_exits_2_in_one_line(tmp_path):
    from unlearnkit.shared.bench import BenchLock

    out = tmp_path / "busy"
    with BenchLock(out):  # a first bench holds the folder
        second = subprocess.run(_bench_cmd(out), capture_output=True, text=True, timeout=300)
    assert second.returncode == 2
    assert second.stderr.startswith("Error: another bench") and second.stderr.strip().count("\n") == 0
    assert sorted(p.name for p in out.iterdir()) == [".bench.lock"]  # it wrote nothing

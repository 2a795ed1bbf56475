"""tools/gpu_check.sh --tiny runs every step of the GPU check on the CPU, so the check keeps working between
the rare runs on a real GPU node; and its site builder makes the workspace importable without pip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["setup", "cuda_tests", "train_throughput", "digits_bench", "lmeraser", "slug"]


@pytest.mark.slow
def test_gpu_check_tiny_writes_one_json_per_step_and_passes(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", str(ROOT / "tools/gpu_check.sh"), str(out), "--tiny"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=1100)
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted([f"{s}.json" for s in STEPS] + ["summary.json"]), files
    summary = json.loads((out / "summary.json").read_text())
    steps = {s: json.loads((out / f"{s}.json").read_text()) for s in STEPS}
    bad = {s: (r["status"], r.get("output_tail", "")[-1500:]) for s, r in steps.items() if r["status"] != "pass"}
    assert not bad, bad
    assert proc.returncode == 0 and summary["ok"] and summary["tiny"] and "ALL PASSED" in proc.stdout
    assert steps["setup"]["probe"]["imports"]["open_clip"] != "" and not steps["setup"]["missing_imports"]
    assert {"lmeraser", "slug", "scar"} <= set(steps["setup"]["probe"]["method_entry_points"])
    assert steps["cuda_tests"]["counts"].get("skipped", 0) >= 7  # no GPU here: every cuda test skips
    tp = steps["train_throughput"]["result"]
    assert tp["fit_images_per_s"] > 0 and tp["bare_images_per_s"] > 0 and tp["images"] == 256
    assert "| ft" in steps["digits_bench"]["results_md"] or "ft" in steps["digits_bench"]["results_md"]
    lm = steps["lmeraser"]["result"]
    assert lm["erased_ids_gone"] and lm["erase_seconds"] > 0
    assert steps["slug"]["result"]["grads_finite"] and steps["slug"]["result"]["pareto_layers"] > 0


def test_gpu_site_generates_entry_points_for_a_fresh_interpreter(tmp_path):
    """Without the workspace installed, the generated dist-info alone makes the package methods discoverable."""
    site = tmp_path / "site"
    # -I -S: no site-packages at all, as on a node where nothing of ours is installed (the script is stdlib only)
    res = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "tools/gpu_site.py"), str(site), "--wheels", str(tmp_path / "none"),
                          "--report", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "export PYTHONPATH=" in res.stdout and (site / "bin" / "unlearnkit").is_file()
    report = json.loads((tmp_path / "r.json").read_text())
    assert {p["name"] for p in report["packages"]} >= {"unlearnkit-shared", "unlearnkit-slug", "unlearnkit-lmeraser"}
    assert {p["metadata"] for p in report["packages"]} == {"generated"}
    probe = ("import sys; sys.path[:0] = " + repr(report["pythonpath"]) + "\n"
             "import importlib.metadata as md\n"
             "print(sorted(ep.name for ep in md.entry_points(group='unlearnkit.methods')))")
    got = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    assert eval(got.stdout) == ["lmeraser", "ps_unlearn", "scar", "slug", "spkd_transfer"]

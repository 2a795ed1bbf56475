"""Cross-package checks: every package installs its CLI and entry point, and the bench runs methods from
several packages side by side on the same request."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import pytest
from typer.testing import CliRunner

PACKAGES = {  # import name -> (console script, methods the bench must find)
    "scar": ("scar", {"scar", "scar_self"}),
    "ps_unlearn": ("ps-unlearn", {"naive_ps", "ps"}),
    "spkd_transfer": ("spkd-transfer", {"spkd"}),
    "lmeraser": ("lmeraser", set()),  # a prompt-tuned frozen backbone, not a bench classifier (see README)
    "slug": ("slug", set()),  # CLIP models, not bench classifiers (see README)
}


def test_every_package_registers_an_entry_point_and_a_console_script():
    eps = {ep.name: ep for ep in entry_points(group="unlearnkit.methods")}
    scripts = {ep.name for ep in entry_points(group="console_scripts")}
    assert "unlearnkit" in scripts
    for mod, (script, _) in PACKAGES.items():
        assert mod in eps, f"unlearnkit-{mod} has no unlearnkit.methods entry point"
        assert script in scripts, f"console script {script} missing"
        assert isinstance(eps[mod].load()(), list)


def test_bench_discovers_methods_of_every_installed_package():
    from unlearnkit.shared.methods import discover_methods, get_method

    names = set(discover_methods())
    for mod, (_, expected) in PACKAGES.items():
        assert expected <= names, f"missing {expected - names} from {mod}"
        for name in expected:
            assert get_method(name).package.startswith("unlearnkit-")
    assert {"retrain", "ft", "ga", "neggrad", "rl", "l1_sparse", "salun", "scrub", "bad_teacher", "ssd"} <= names


@pytest.mark.parametrize("mod", sorted(PACKAGES))
def test_each_cli_explains_itself(mod):
    app = importlib.import_module(f"unlearnkit.{mod}.cli").app
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "Usage" in result.output and len(result.output) > 200


def test_bench_compares_methods_from_several_packages(tmp_path):
    from unlearnkit.shared.bench import BenchConfig, run_bench

    cfg = BenchConfig(model="lenet5", requests=("class:3",), methods=("rl", "naive_ps", "scar", "spkd"),
                      out_dir=str(tmp_path), train={"epochs": 4}, device="cpu", progress=False, seeds=1,
                      params={"rl": {"epochs": 1}, "spkd": {"epochs": 1}})
    results = run_bench(cfg, log=lambda m: None)
    rows = {r["method"]: r for r in results["tables"][0]["rows"]}
    assert set(rows) == {"retrain", "original", "rl", "naive_ps", "scar", "spkd"}
    for name in ("rl", "naive_ps", "scar", "spkd"):
        assert rows[name]["status"] == "ok", rows[name]["note"]
        # every method forgot more of class 3 than doing nothing
        assert rows[name]["metrics"]["UA"]["mean"] > rows["original"]["metrics"]["UA"]["mean"], name
    assert (tmp_path / "results.png").stat().st_size > 0

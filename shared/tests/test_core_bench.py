import json

from unlearnkit.shared.bench import BenchConfig, run_bench


def _cfg(out):
    return BenchConfig(model="mlp", requests=("class:3",), methods=("ft", "rl", "ssd"), out_dir=str(out),
                       train={"epochs": 3}, params={"ft": {"epochs": 1}, "rl": {"epochs": 1},
                                                    "ssd": {"batch_size": 0}},  # ssd fails in its child
                       device="cpu",
                       progress=False, seeds=1, presets=False)


def test_bench_table_files_and_resume(tmp_path):
    logs = []
    results = run_bench(_cfg(tmp_path), log=logs.append)
    for name in ("results.json", "results.csv", "results.md", "results.png"):
        assert (tmp_path / name).stat().st_size > 0
    (table,) = results["tables"]
    rows = {r["method"]: r for r in table["rows"]}
    assert [r["method"] for r in table["rows"]][:2] == ["retrain", "original"]
    retrain = rows["retrain"]["metrics"]
    assert retrain["UA"]["mean"] == 100.0 and retrain["AvgGap"]["mean"] == 0.0
    assert rows["original"]["metrics"]["UA"]["mean"] < 20  # the original still knows class 3
    assert rows["rl"]["metrics"]["UA"]["mean"] > rows["original"]["metrics"]["UA"]["mean"]
    assert rows["rl"]["metrics"]["AvgGap"]["mean"] < rows["original"]["metrics"]["AvgGap"]["mean"]
    assert rows["ssd"]["status"] == "failed" and "batch_size" in rows["ssd"]["note"]
    assert "\n" not in rows["ssd"]["note"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["meta"]["data"] == "digits" and table["request"] in saved["meta"]["requests"]
    meta = saved["meta"]
    assert meta["threads"] == 1 and meta["device"] == "cpu" and "unlearnkit-shared" in meta["packages"]
    assert {"torch", "python", "platform", "cpu"} <= set(meta)
    assert rows["rl"]["metrics"]["peak_mem_mb"]["mean"] > 0  # measured in the run's own process
    assert "| retrain |" in (tmp_path / "results.md").read_text()

    # A second run (a "resumed" bench) trains nothing and reuses every finished run.
    run_dir = next((tmp_path / "runs").iterdir())
    stamps = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()}
    logs2 = []
    again = run_bench(_cfg(tmp_path), log=logs2.append)
    assert not any(line.startswith("training") for line in logs2)
    assert {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()} == stamps
    assert again["tables"][0]["rows"][0]["metrics"]["UA"] == table["rows"][0]["metrics"]["UA"]
    assert "NaN" not in (tmp_path / "results.json").read_text()  # strict JSON for every parser


def test_bench_ulira_is_opt_in_and_ranks_retrain_below_original(tmp_path):
    cfg = BenchConfig(model="mlp", requests=("class:3",), methods=("rl",), out_dir=str(tmp_path), ulira=2,
                      train={"epochs": 2}, params={"rl": {"epochs": 1}}, device="cpu", progress=False, mia=False,
                      seeds=1, presets=False)
    results = run_bench(cfg, log=lambda m: None)
    rows = {r["method"]: r["metrics"] for r in results["tables"][0]["rows"]}
    # the original still looks like a model that trained on class 3; the retrained one does not
    assert rows["original"]["ULiRA"]["mean"] > 80 > 20 > rows["retrain"]["ULiRA"]["mean"]
    assert "U-LiRA in%" in (tmp_path / "results.md").read_text()


def test_cache_keys_hold_threads_and_presets_apply_per_kind(tmp_path):
    from unlearnkit.shared.bench import Bench
    from unlearnkit.shared.bench.presets import preset_params

    one = Bench(BenchConfig(out_dir=str(tmp_path), threads=1, device="cpu"))
    two = Bench(BenchConfig(out_dir=str(tmp_path), threads=2, device="cpu"))
    assert one.env_key()["threads"] == 1 and two.env_key()["threads"] == 2
    assert one._model_path("original", 0, None)[0] != two._model_path("original", 0, None)[0]
    assert one.params_for("ft", "class") == preset_params("digits", "ft", "class")
    custom = Bench(BenchConfig(out_dir=str(tmp_path), params={"ft": {"lr": 0.3}}))
    assert custom.params_for("ft", "class") == {**preset_params("digits", "ft", "class"), "lr": 0.3}
    assert Bench(BenchConfig(out_dir=str(tmp_path), presets=False)).params_for("ft", "class") == {}

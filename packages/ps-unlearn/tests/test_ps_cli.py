"""The CLI end to end on digits: files written, results sane, user errors are one line with exit code 2."""

import json
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner
from unlearnkit.ps_unlearn.cli import app
from unlearnkit.ps_unlearn.presets import resolve_model_name
from unlearnkit.shared.checkpoint import load_model, save_model
from unlearnkit.shared.data import load_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def run_result(digits_run):
    opts, _ = digits_run
    args = ["run", "-o", opts.out_dir, "--train-epochs", "4", "--model", "mlp"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return opts, args, result


def test_run_writes_results_and_meets_targets(run_result):
    opts, _, result = run_result
    files = sorted(p.name for p in Path(opts.out_dir).iterdir())
    res_name = next(f for f in files if f.startswith("results_"))
    res = json.loads((Path(opts.out_dir) / res_name).read_text())
    rows = res["methods"]
    assert set(rows) == {"original", "retrain", "naive_ps", "ps"}
    n_class1 = int((load_dataset("digits", "train").targets == 1).sum())
    assert res["num_forget"] == round(0.1 * n_class1)
    for name in ("naive_ps", "ps"):
        assert rows[name]["forget_acc"] <= rows["retrain"]["forget_acc"] + 1e-9
        assert abs(rows[name]["TA"] - rows["original"]["TA"]) <= 2.0
        assert rows[name]["seconds"] > 0 and "avg_gap" in rows[name]
    assert any(f.startswith("ps_digits_0_") and f.endswith(".pt") for f in files)
    assert any(f.startswith("request_digits_0_") for f in files)
    assert "naive_ps" in result.output and "retrain" in result.output


def test_rerun_refuses_to_overwrite(run_result):
    _, args, _ = run_result
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "already exists" in result.output and "Traceback" not in result.output


def test_ps_paper_mode_runs_every_epoch(digits_run):
    opts, _ = digits_run
    result = runner.invoke(
        app,
        [
            "ps",
            "-o",
            opts.out_dir,
            "--stop-at",
            "none",
            "--epochs",
            "3",
            "--trainable",
            "bias",
            "--pick",
            "last",
            "--no-mia",
        ],
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--data", "SVHN"], "unknown PS data set"),
        (["run", "--model-type", "SVHN"], "unknown PS data set"),  # the published name, a hidden alias
        (["ps", "--trainable", "conv"], "unknown trainable part"),
        (["ps", "--stop-at", "soon"], "--stop-at"),
        (["ps", "--ratio", "1.5"], "fraction"),
        (["naive", "--checkpoint", "nope.pt"], "not found"),
        (["naive", "--solver", "qr"], "unknown solver"),
    ],
)
def test_user_errors_exit_2(tmp_path, args, message):
    result = runner.invoke(app, [*args, "-o", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_published_flag_names_still_work(digits_run, tmp_path):
    """main.py's --model_type and this CLI's old --out-dir / --forget-class / -m are hidden aliases."""
    _, path = digits_run
    result = runner.invoke(app, ["ps", "--model_type", "DIGITS", "--out-dir", str(tmp_path), "--forget-class", "1",
                                 "--checkpoint", str(path), "--epochs", "1", "--no-mia", "--quiet"])
    assert result.exit_code == 0, result.output
    assert any(p.name.startswith("ps_digits_0_") for p in tmp_path.iterdir())
    result = runner.invoke(app, ["naive", "-m", "DIGITS", "--out_dir", str(tmp_path), "--checkpoint", str(path),
                                 "--no-mia", "--quiet"])
    assert result.exit_code == 0, result.output
    help_text = runner.invoke(app, ["ps", "--help"]).output
    assert "--data" in help_text and "--model-type" not in help_text and "--out-dir" not in help_text
    # train has one epoch count: the vocabulary's --epochs reaches it (and is validated like it)
    result = runner.invoke(app, ["train", "--epochs", "0", "--out", str(tmp_path / "never")])
    assert result.exit_code == 2 and "'--train-epochs': 0 is not allowed" in result.output


def test_naive_without_init_weights_explains(digits_run, tmp_path):
    opts, path = digits_run
    model, _ = load_model(path)
    bare = tmp_path / "bare.pt"
    save_model(bare, model, meta={"dataset": "digits"})
    result = runner.invoke(app, ["naive", "--checkpoint", str(bare), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "init_classifier" in result.output


def test_resnet50_is_resnet56_with_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_model_name("ResNet50") == "resnet56"
    assert any("ResNet-56" in str(w.message) for w in caught)


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("train", "naive", "ps", "run"):
        assert cmd in result.output

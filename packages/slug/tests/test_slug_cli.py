"""The CLI end to end on the session's tiny CLIP: create-forget -> grads -> layers -> unlearn -> eval."""

from __future__ import annotations

import json

import torch
from PIL import Image
from typer.testing import CliRunner
from unlearnkit.slug.cli import app
from unlearnkit.slug.digits import DIGIT_NAMES, load_digits_split
from unlearnkit.slug.models import load_clip_checkpoint

runner = CliRunner()


def invoke(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


def test_cli_workflow(tmp_path, trained_clip_path, digit_shards):
    shards, _ = digit_shards
    ck = ["--checkpoint", trained_clip_path]
    forget = tmp_path / "seven.tar"
    invoke("data", "create-forget", "--name", "seven", "--shards", shards[0], "--shards", shards[1], "--out", forget)
    invoke("grads", "--forget", forget, "--retain", shards[2], "--retain-limit", 48, "--out", tmp_path / "g", *ck)
    assert (tmp_path / "g" / "forget.safetensors").is_file()
    invoke("layers", "--grads-dir", tmp_path / "g", "--out", tmp_path, *ck)
    layers = json.loads((tmp_path / "layers.json").read_text())
    assert any(x["pareto"] and x["tower"] == "text" for x in layers)
    assert any(x["pareto"] and x["tower"] == "vision" for x in layers)

    names = tmp_path / "names.txt"
    names.write_text("\n".join(DIGIT_NAMES) + "\n")
    util = tmp_path / "util"  # an ImageNet-style folder: one sub-folder per class
    test = load_digits_split("test")
    for i, (img, y) in enumerate(zip(test.images[:60], test.labels[:60], strict=True)):
        (util / DIGIT_NAMES[y]).mkdir(parents=True, exist_ok=True)
        img.save(util / DIGIT_NAMES[y] / f"{i}.png")
    common = ["--name", "seven", "--names-file", names, "--forget-images", forget, "--utility-folder", util,
              "--name-template", "a photo of the number {}.", *ck]
    out = tmp_path / "unlearned.safetensors"
    r = invoke("unlearn", *common, "--utility-fraction", 1.0, "--grads-dir", tmp_path / "g", "--layers",
               tmp_path / "layers.json", "--out", out, "--log", tmp_path / "search.jsonl", "--target", "top1",
               "--threshold", 10, "--max-iter", 6)
    summary = json.loads(r.output[r.output.index("{"):])
    assert summary["after"]["forget_top1"] <= 10 < summary["before"]["forget_top1"]
    lines = [json.loads(x) for x in (tmp_path / "search.jsonl").read_text().splitlines()]
    trials = [t for t in lines if not t.get("final")]
    assert len(trials) <= 6 * sum(x["pareto"] for x in layers)
    # utility is measured once per layer that reached the target, at its final step
    finals = [t for t in lines if t.get("final")]
    assert finals and all(t["reached"] and "utility_top1" in t for t in finals)
    assert not any("utility_top1" in t for t in trials)
    before = load_clip_checkpoint(trained_clip_path).model.state_dict()
    after = load_clip_checkpoint(out).model.state_dict()
    assert [k for k in before if not torch.equal(before[k], after[k])] == [summary["layer"]]

    r = invoke("eval", *common, "--heldout", shards[2], "--checkpoint", out)
    metrics = json.loads(r.output[r.output.index("{"):])
    assert metrics["forget_top1"] == summary["after"]["forget_top1"] and 0 <= metrics["mia"] <= 100

    # refusing to overwrite, and bad input, are one-line errors with exit code 2 (the published --out-dir is
    # a hidden alias of --out)
    r = runner.invoke(app, ["layers", "--grads-dir", str(tmp_path / "g"), "--out-dir", str(tmp_path), *map(str, ck)])
    assert r.exit_code == 2 and "overwrite" in r.output
    assert "--out-dir" not in runner.invoke(app, ["layers", "--help"]).output
    r = runner.invoke(app, ["grads", "--forget", str(tmp_path / "nope.tar"), "--retain", str(shards[2]),
                            "--out", str(tmp_path / "g2"), *map(str, ck)])
    assert r.exit_code == 2 and "not found" in r.output and "Traceback" not in r.output
    # the same through the nested `data` sub-app (the core's group wraps sub-groups too)
    r = runner.invoke(app, ["data", "create-forget", "--name", "seven", "--shards", str(tmp_path / "none.tar"),
                            "--out", str(tmp_path / "x.tar")])
    assert r.exit_code == 2 and r.output.startswith("Error:") and "Traceback" not in r.output


def test_demo_model_is_not_retrained(tmp_path, trained_clip_path, monkeypatch):
    """The demo caches its CLIP per work dir; a second call with the same setting must not train."""
    from unlearnkit.slug import demo
    from unlearnkit.slug.models import load_clip_checkpoint, save_clip

    cfg = demo.DemoConfig(train_epochs=4)
    save_clip(tmp_path / "tiny_clip.safetensors", load_clip_checkpoint(trained_clip_path),
              meta={"train": {"epochs": 4, "seed": 0, "split": demo.SPLIT_TAG}})
    monkeypatch.setattr(demo, "train_clip_on_labels", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    bundle, meta = demo.get_demo_model(tmp_path, cfg)
    assert meta["train"]["epochs"] == 4 and isinstance(Image.new("RGB", (1, 1)), Image.Image)
    assert sum(p.numel() for p in bundle.model.parameters()) > 0


def test_demo_model_cached_under_another_split_is_retrained(tmp_path, trained_clip_path, monkeypatch):
    """A checkpoint whose split tag is not the current one (e.g. slug's former csv reader) is retrained."""
    from unlearnkit.slug import demo
    from unlearnkit.slug.models import load_clip_checkpoint, save_clip

    save_clip(tmp_path / "tiny_clip.safetensors", load_clip_checkpoint(trained_clip_path),
              meta={"train": {"epochs": 4, "seed": 0, "split": "core-digits-permutation-v1"}})
    calls = []

    def fake_train(bundle, data, cfg):
        calls.append(len(data.images))
        return {"train": {"epochs": cfg.epochs, "seed": cfg.seed}, "seconds": 0.0}

    monkeypatch.setattr(demo, "tiny_clip", lambda seed=0: load_clip_checkpoint(trained_clip_path))
    monkeypatch.setattr(demo, "train_clip_on_labels", fake_train)
    _, meta = demo.get_demo_model(tmp_path, demo.DemoConfig(train_epochs=4))
    assert calls == [1437] and meta["train"]["split"] == demo.SPLIT_TAG
    assert demo.checkpoint_meta(tmp_path / "tiny_clip.safetensors")["train"]["split"] == demo.SPLIT_TAG

"""SLUG beyond CLIP, offline: tiny random Stable Diffusion and LLaVA built from configs in a tmp folder,
grads -> layers -> unlearn -> eval through the CLI, exactly one tensor changed, forget side moved more."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from typer.testing import CliRunner
from unlearnkit.slug.cli import app

runner = CliRunner()


def invoke(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


def output_json(r):
    return json.loads(r.output[r.output.index("{"):])


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    from unlearnkit.slug.tiny_families import make_tiny_sd

    torch.set_num_threads(1)
    return make_tiny_sd(tmp_path_factory.mktemp("sd"))


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory):
    from unlearnkit.slug.tiny_families import make_tiny_llava

    torch.set_num_threads(1)
    return make_tiny_llava(tmp_path_factory.mktemp("llava"))


def run_family(family, checkpoint, data, name, tmp_path):
    """The four commands; returns (unlearn summary, eval result, layers.json)."""
    common = ["--family", family, "--checkpoint", checkpoint]
    g = tmp_path / "g"
    invoke("grads", *common, "--name", name, "--data", data, "--out-dir", g)
    invoke("layers", *common, "--grads-dir", g, "--out-dir", g)
    layers = json.loads((g / "layers.json").read_text())
    out = tmp_path / "edited"
    s = output_json(invoke("unlearn", *common, "--name", name, "--data", data, "--grads-dir", g, "--layers",
                           g / "layers.json", "--out", out, "--log", tmp_path / "search.jsonl"))
    e = output_json(invoke("eval", *common, "--name", name, "--data", data, "--edited", out))
    # the output folder is never replaced without --overwrite
    r = runner.invoke(app, ["unlearn", *map(str, common), "--name", name, "--data", str(data), "--grads-dir", str(g),
                            "--layers", str(g / "layers.json"), "--out", str(out), "--log", str(tmp_path / "s2.jsonl")])
    assert r.exit_code == 2 and "overwrite" in r.output
    return s, e, layers


def changed(before: dict, after: dict) -> list[str]:
    assert before.keys() == after.keys()
    return [k for k in before if not torch.equal(before[k], after[k])]


def test_sd_end_to_end(tiny_sd, tmp_path):
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTextModel

    pipe_dir, names = tiny_sd
    s, e, layers = run_family("sd", pipe_dir, names, "Emmy Noether", tmp_path)
    assert {x["tower"] for x in layers} == {"text"} and any(x["pareto"] for x in layers)
    assert not any("embedding" in x["name"] or "norm" in x["name"] for x in layers)
    # forgotten: no forget prompt is still identified as the name; the others mostly are
    assert s["before"]["forget_top1"] == 100 and s["after"]["forget_top1"] == 0
    assert e["edited"] == pytest.approx(s["after"], abs=1e-4) and e["edited"]["utility_top1"] >= 90
    assert e["edited"]["forget_drift"] > e["edited"]["retain_drift"] + 0.02
    # exactly the chosen tensor differs, and the folder loads back into the pipeline
    original = CLIPTextModel.from_pretrained(pipe_dir, subfolder="text_encoder").state_dict()
    edited = CLIPTextModel.from_pretrained(tmp_path / "edited")
    assert changed(original, edited.state_dict()) == [s["layer"]]
    pipe = StableDiffusionPipeline.from_pretrained(pipe_dir, text_encoder=edited, safety_checker=None,
                                                   requires_safety_checker=False)
    image = pipe("a photo of emmy noether.", num_inference_steps=1, output_type="np").images
    assert image.shape[-1] == 3 and torch.isfinite(torch.as_tensor(image)).all()


def test_sd_clip_score_of_generated_images(tiny_sd, tmp_path):
    """The real-weights check (generate, score with CLIP) runs on the tiny pipeline and a tiny CLIP."""
    from unlearnkit.slug.families import get_family
    from unlearnkit.slug.tiny_families import make_tiny_clip_scorer

    pipe_dir, names = tiny_sd
    adapter = get_family("sd").load_adapter(pipe_dir)
    m = adapter.generation_metrics(adapter.probe("Alan Turing", names), score_model=make_tiny_clip_scorer(tmp_path),
                                   steps=1, max_prompts=2)
    assert set(m) == {"forget_clip_score", "retain_clip_score"}
    assert all(-100 <= v <= 100 for v in m.values())


def test_llava_end_to_end(tiny_llava, tmp_path):
    from transformers import LlavaForConditionalGeneration

    model_dir, faces = tiny_llava
    s, e, layers = run_family("llava", model_dir, faces, "Grace_Hopper", tmp_path)
    assert layers and all("vision_tower" in x["name"] and x["name"].endswith(("q_proj.weight", "k_proj.weight",
                                                                              "v_proj.weight")) for x in layers)
    assert s["after"]["forget_top1"] == 0 and e["edited"]["utility_top1"] >= 90
    assert e["edited"]["forget_drift"] > e["edited"]["retain_drift"] + 0.1
    original = LlavaForConditionalGeneration.from_pretrained(model_dir).state_dict()
    edited = LlavaForConditionalGeneration.from_pretrained(tmp_path / "edited").state_dict()
    assert changed(original, edited) == [s["layer"]]


def test_llava_who_is_this(tiny_llava):
    """The real-weights check runs end to end on the tiny model (its random answers name nobody)."""
    from unlearnkit.slug.families import get_family
    from unlearnkit.slug.llava import names_identity

    model_dir, faces = tiny_llava
    adapter = get_family("llava").load_adapter(model_dir)
    probe = adapter.probe("Alan Turing", faces)
    m = adapter.generation_metrics(probe, max_images=2, max_new_tokens=3)
    assert 0 <= m["forget_names_identity"] <= 100 and len(m["forget_answers"]) == 2
    assert names_identity("That is Alan Turing.", "Alan_Turing") and names_identity("turing, I think", "Alan Turing")
    assert not names_identity("a man in a suit", "Alan Turing")


@pytest.mark.parametrize("family,module", [("sd", "diffusers"), ("llava", "transformers")])
def test_missing_extra_is_one_line(family, module, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    r = runner.invoke(app, ["grads", "--family", family, "--name", "x", "--data", str(tmp_path),
                            "--out-dir", str(tmp_path / "g")])
    assert r.exit_code == 2
    assert r.output.strip() == f"Error: --family {family} needs {module}: pip install 'unlearnkit-slug[{family}]'"


def test_unknown_family_and_missing_options(tmp_path):
    r = runner.invoke(app, ["layers", "--family", "dalle", "--grads-dir", str(tmp_path)])
    assert r.exit_code == 2 and "unknown --family 'dalle'" in r.output
    r = runner.invoke(app, ["grads", "--out-dir", str(tmp_path)])  # clip still needs its forget tar
    assert r.exit_code == 2 and "--forget is required" in r.output
    # outputs are checked before any model is loaded (this checkpoint does not even exist)
    (tmp_path / "forget.safetensors").write_bytes(b"mine")
    r = runner.invoke(app, ["grads", "--family", "sd", "--checkpoint", str(tmp_path / "nope"), "--name", "x",
                            "--data", str(tmp_path / "names.txt"), "--out-dir", str(tmp_path)])
    assert r.exit_code == 2 and "already exists" in r.output and (tmp_path / "forget.safetensors").read_bytes() == b"mine"

"""grads -> layers -> unlearn -> eval for the non-CLIP families, over a family adapter.

An adapter (``sd.SDAdapter``, ``llava.LlavaAdapter``) knows its model: ``module`` (the nn.Module whose one
tensor is edited and saved), ``probe(name, data)``, ``embed(inputs)``, ``candidates(names)``,
``tower(name)``, ``save(folder)`` and ``generation_metrics(...)``. Everything else (gradient passes, the
Pareto choice, the step search, the single-tensor update) is the CLIP path's own code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ._core import UnlearnkitError, load_json, plan_outputs, save_json, staged_folder
from .grads import compute_gradient, load_gradients, save_gradients
from .layers import candidate_names, load_layers, mark_pareto, plot_layers, save_layers, score_layers
from .probe import ProbeEvaluator, probe_batches, probe_loss
from .unlearn import apply_outcome, run_search

FORGET_FILE, RETAIN_FILE = "forget.safetensors", "retain.safetensors"
EDIT_JSON, EDIT_TENSOR, SUMMARY_JSON = "slug_edit.json", "slug_edit.safetensors", "slug_summary.json"


def _local(path) -> dict:
    """The checkpoint as an input of the output check, when it is a local path (not a hub id)."""
    return {"--checkpoint": path} if path is not None and Path(path).exists() else {}


def _load(adapter):
    """``adapter`` or a zero-argument factory of one: the CLI passes a factory so that outputs are checked
    before a (possibly 7 B parameter) model is loaded."""
    return adapter if hasattr(adapter, "module") else adapter()


def family_grads(adapter, name: str, data, out_dir: str | Path, *, batch_size: int = 16, device: str = "cpu",
                 overwrite: bool = False, checkpoint=None) -> dict:
    """One pass each over the forget identity's samples and everyone else's, on the identification loss."""
    out_dir = Path(out_dir)
    plan_outputs({f: out_dir / f for f in (FORGET_FILE, RETAIN_FILE, "grads_summary.json")},
                 inputs={"--data": data, **_local(checkpoint)}, overwrite=overwrite)
    adapter = _load(adapter)
    adapter.module.to(device)
    probe = adapter.probe(name, data)
    refs = ProbeEvaluator(adapter.embed, probe, batch_size=batch_size, device=device).refs
    loss = probe_loss(adapter.embed, probe, refs)
    fi, ri = probe.forget_index, probe.retain_index
    gf = compute_gradient(adapter.module, probe_batches(probe, fi, batch_size), loss, device, "forget gradient")
    gr = compute_gradient(adapter.module, probe_batches(probe, ri, batch_size), loss, device, "retain gradient")
    meta = {"family": adapter.family, "checkpoint": str(adapter.checkpoint), "name": name, "data": str(data)}
    save_gradients(out_dir / FORGET_FILE, gf, {**meta, "loss": "identification (forget)"})
    save_gradients(out_dir / RETAIN_FILE, gr, {**meta, "loss": "identification (retain)"})
    summary = {**meta, "identities": len(probe.names), "forget_samples": gf.samples, "retain_samples": gr.samples,
               "forget_seconds": gf.seconds, "retain_seconds": gr.seconds}
    save_json(out_dir / "grads_summary.json", summary)
    return summary


def family_layers(adapter, grads_dir: str | Path, out_dir: str | Path, *, include_norm: bool = False,
                  overwrite: bool = False) -> list:
    """The Pareto set over the family's candidates only (SD: text encoder; LLaVA: vision q/k/v)."""
    out_dir = Path(out_dir)
    plan_outputs({f: out_dir / f for f in ("layers.json", "layers.png")},
                 inputs={"forget gradient": Path(grads_dir) / FORGET_FILE}, overwrite=overwrite)
    adapter = _load(adapter)
    gf, gr = load_gradients(Path(grads_dir) / FORGET_FILE), load_gradients(Path(grads_dir) / RETAIN_FILE)
    params = dict(adapter.module.named_parameters())
    # a tensor the loss never reaches (LLaVA reads the vision tower's second-to-last layer, so the last
    # layer's gradient is exactly zero) has nothing to step along: not a candidate
    names = [n for n in adapter.candidates(candidate_names(params, exclude_norm=not include_norm))
             if n in gf and gf[n].abs().sum() > 0]
    if not names:
        raise UnlearnkitError(f"no candidate tensors of --family {adapter.family} with a forget gradient in {grads_dir}")
    scores = mark_pareto(score_layers({n: params[n] for n in names}, gf, gr, exclude_norm=not include_norm,
                                      tower=adapter.tower))
    save_layers(out_dir / "layers.json", scores)
    plot_layers(out_dir / "layers.png", scores, title=f"SLUG layer selection ({adapter.family})")
    return scores


def family_unlearn(adapter, name: str, data, grads_dir: str | Path, layers_json: str | Path, out: str | Path,
                   log_path: str | Path, *, target: str = "top1", threshold: float = 0.0, max_iter: int = 10,
                   batch_size: int = 32, device: str = "cpu", overwrite: bool = False, checkpoint=None) -> dict:
    """Search the step on every Pareto layer, apply the chosen single-tensor update, save a loadable folder
    (``adapter.save``) plus the edit itself (layer, step, the new tensor) and the search summary."""
    plan_outputs({"--log": log_path}, folders={"--out": out}, overwrite=overwrite,
                 inputs={"--data": data, "--layers": layers_json, **_local(checkpoint)})
    adapter = _load(adapter)
    Path(log_path).unlink(missing_ok=True)
    adapter.module.to(device)
    gf = load_gradients(Path(grads_dir) / FORGET_FILE)
    evaluator = ProbeEvaluator(adapter.embed, adapter.probe(name, data), batch_size=batch_size, device=device)
    before = evaluator(None)
    layers = load_layers(layers_json)
    outcome = run_search(adapter.module, gf, layers, evaluator, target=target, threshold=threshold,
                         max_iter=max_iter, log_path=log_path, towers=sorted({s.tower for s in layers}))
    apply_outcome(adapter.module, gf, outcome)
    layer, step = outcome.chosen.layer, outcome.chosen.high
    after = evaluator(layer)
    summary = {"family": adapter.family, "checkpoint": str(adapter.checkpoint), "name": name, "layer": layer,
               "step": step, "search_seconds": outcome.seconds, "before": before, "after": after,
               "searched": [r.to_dict() for r in outcome.results]}
    tensor = dict(adapter.module.named_parameters())[layer].detach().cpu().contiguous()

    from safetensors.torch import save_file

    with staged_folder(out) as folder:  # built beside --out, moved into place when complete
        adapter.save(folder)
        save_file({layer: tensor}, str(folder / EDIT_TENSOR))
        save_json(folder / EDIT_JSON, {k: summary[k] for k in ("family", "checkpoint", "name", "layer", "step")})
        save_json(folder / SUMMARY_JSON, summary)
    return summary


def load_edit(edited: str | Path) -> tuple[dict, str, torch.Tensor]:
    """The edit an unlearned folder carries: its description, the layer name and the new tensor."""
    from safetensors.torch import load_file

    edited = Path(edited)
    if not (edited / EDIT_JSON).is_file() or not (edited / EDIT_TENSOR).is_file():
        raise UnlearnkitError(f"{edited} is not a folder written by `slug unlearn` (no {EDIT_JSON})")
    info = load_json(edited / EDIT_JSON)
    return info, info["layer"], load_file(str(edited / EDIT_TENSOR))[info["layer"]]


def family_eval(adapter, edited: str | Path, name: str, data, *, batch_size: int = 32, device: str = "cpu",
                generate: bool = False, **generation) -> dict:
    """Offline: identification and drift of the forget vs the retain side, original -> edited (the original
    model is ``adapter``; only the edited tensor is read from ``edited``). With ``generate``, the family's
    real-weights check too (SD: CLIP score of generated images; LLaVA: does the answer name the identity)."""
    from .update import get_parameter

    info, layer, tensor = load_edit(edited)
    adapter = _load(adapter)
    if info.get("family") != adapter.family:
        raise UnlearnkitError(f"{edited} was made by --family {info.get('family')}, not {adapter.family}")
    adapter.module.to(device)
    probe = adapter.probe(name, data)
    evaluator = ProbeEvaluator(adapter.embed, probe, batch_size=batch_size, device=device)
    original = evaluator(None)
    p = get_parameter(adapter.module, layer)
    if p.shape != tensor.shape:
        raise UnlearnkitError(f"{edited}'s {layer} has shape {tuple(tensor.shape)}, the model {tuple(p.shape)}")
    gen_before = adapter.generation_metrics(probe, **generation) if generate else None
    with torch.no_grad():
        p.copy_(tensor.to(p.device, p.dtype))
    out = {"family": adapter.family, "layer": layer, "step": info.get("step"), "original": original,
           "edited": evaluator(layer)}
    if generate:
        out["generation"] = {"original": gen_before, "edited": adapter.generation_metrics(probe, **generation)}
    return out

"""The two paper-scale steps of tools/gpu_check.sh: LMEraser train + erase and SLUG's gradient pass.

    python3 tools/gpu_check_steps.py lmeraser --device cuda --json out.json   # ViT-B/16, 224 px
    python3 tools/gpu_check_steps.py slug --device cuda --json out.json       # open_clip ViT-B-32, 224 px
    ... --tiny --device cpu                                                   # tiny models, seconds

Both use randomly initialised backbones (no weights exist on an air-gapped node; timing and memory do not
depend on the weights) and the ``synthetic-imagenet-CxN`` data set, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("SLUG_QUIET", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def peak_mb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def lmeraser(args, device: torch.device) -> dict:
    from unlearnkit.lmeraser import engine
    from unlearnkit.lmeraser.backbones import IMAGENET_MEAN, IMAGENET_STD
    from unlearnkit.lmeraser.config import LMEraserConfig
    from unlearnkit.lmeraser.frozen import FrozenBackbone
    from unlearnkit.lmeraser.model import LMEraserModel
    from unlearnkit.lmeraser.pipeline import public_private_split
    from unlearnkit.lmeraser.store import SampleStore
    from unlearnkit.shared.data import load_dataset
    from unlearnkit.shared.models import create_model

    if args.tiny:
        name, size, public_size, clusters, backbone_name = "synthetic-imagenet-4x10", 32, 8, 2, "vit-tiny-test"
        model = create_model("vit-tiny-test", 4, in_chans=3, image_size=size)
    else:
        name, size, public_size, clusters, backbone_name = "synthetic-imagenet-10x24", 224, 40, 4, "vit-b-1k"
        torch.manual_seed(0)
        model = create_model("vit-b-1k", 1, in_chans=3, pretrained=False)  # timm ViT-B/16, random weights
    train = load_dataset(name, "train", image_size=size)
    test = load_dataset(name, "test", image_size=size)
    info = train.info
    backbone = FrozenBackbone(model, data_mean=info.mean, data_std=info.std, model_mean=IMAGENET_MEAN,
                              model_std=IMAGENET_STD)
    store = SampleStore(train)
    public, private = public_private_split(len(train), public_size)
    cfg = LMEraserConfig(num_clusters=clusters, epochs=1 if not args.tiny else 2, batch_size=32,
                         feature_batch_size=64)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    state = engine.train(cfg, backbone, store, public, private, num_classes=info.num_classes, image_size=size,
                         in_chans=3, device=device)
    train_s = time.perf_counter() - t0
    ids = np.random.RandomState(0).choice(state.private_ids, size=5, replace=False)
    new, rec = engine.erase(state, ids, backbone, store, device=device)
    erased_ok = not np.isin(ids, new.private_ids).any()
    net = LMEraserModel(new, backbone).to(device)
    with torch.no_grad():
        x = torch.stack([test[i][0] for i in range(len(test))]).to(device)
        acc = float((net(x).argmax(1).cpu().numpy() == test.targets).mean() * 100)
    return {"backbone": backbone_name, "data": name, "image_size": size, "train_images": len(train),
            "public": len(public), "private": len(private), "clusters": state.partition.num_clusters,
            "train_seconds": round(train_s, 3), "erased": len(ids), "erase_seconds": round(rec["erase_seconds"], 3),
            "clusters_touched": len(rec["affected_clusters"]), "cost_ratio": rec["cost_ratio"],
            "erased_ids_gone": bool(erased_ok), "test_acc_after_erase": round(acc, 2),
            "backbone_params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
            "peak_mem_mb": peak_mb(device), "ok": bool(erased_ok)}


def slug(args, device: torch.device) -> dict:
    from unlearnkit.shared.data import load_dataset
    from unlearnkit.slug.grads import compute_gradient
    from unlearnkit.slug.layers import mark_pareto, score_layers
    from unlearnkit.slug.losses import clip_loss, forget_loss
    from unlearnkit.slug.models import load_clip, tiny_clip

    if args.tiny:
        bundle, size, name, arch = tiny_clip(), 32, "synthetic-imagenet-4x10", "slug-tiny-clip"
    else:
        torch.manual_seed(0)
        bundle, size, name, arch = load_clip("ViT-B-32", pretrained=None), 224, "synthetic-imagenet-8x16", "ViT-B-32"
    data = load_dataset(name, "train", image_size=size)
    captions = [f"a photo of {data.info.class_names[int(y)]}" for y in data.targets]
    forget = [i for i in range(len(data)) if data.targets[i] == 0]
    retain = [i for i in range(len(data)) if data.targets[i] != 0]
    batch = 8 if args.tiny else 32

    def batches(ids):
        for s in range(0, len(ids), batch):
            chunk = ids[s:s + batch]
            yield torch.stack([data[i][0] for i in chunk]), bundle.tokenize([captions[i] for i in chunk])

    model = bundle.model.to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    gf = compute_gradient(model, batches(forget), forget_loss, device=device, description="forget gradient")
    gr = compute_gradient(model, batches(retain), clip_loss, device=device, description="retain gradient")
    scores = mark_pareto(score_layers(dict(model.named_parameters()), gf.grads, gr.grads))
    finite = all(torch.isfinite(g).all() for g in gf.grads.values())
    pareto = [s.name for s in scores if s.pareto]
    return {"model": arch, "pretrained": None, "data": name, "image_size": size,
            "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
            "forget_images": gf.samples, "forget_seconds": round(gf.seconds, 3),
            "retain_images": gr.samples, "retain_seconds": round(gr.seconds, 3), "batch_size": batch,
            "layers_scored": len(scores), "pareto_layers": len(pareto), "pareto_examples": pareto[:4],
            "grads_finite": bool(finite), "peak_mem_mb": peak_mb(device), "ok": bool(finite and pareto)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["lmeraser", "slug"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    t0 = time.perf_counter()
    out = {"lmeraser": lmeraser, "slug": slug}[args.step](args, device)
    out.update(device=str(device), seconds=round(time.perf_counter() - t0, 3))
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    raise SystemExit(0 if out["ok"] else 1)


if __name__ == "__main__":
    main()

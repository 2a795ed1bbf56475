"""Stable Diffusion: SLUG on the pipeline's CLIP text encoder (extra ``unlearnkit-slug[sd]``).

The probe is text only: every name of the names file in every caption template. A prompt's feature is
what the UNet is conditioned on, the text encoder's last hidden state over the whole padded context
(flattened), so "forgotten" means: a prompt naming the identity now conditions the UNet like the same
caption naming someone else. The SLUG authors instead took CLIP's image-caption gradient of the full CLIP
model whose text tower SD uses; ours needs no images and touches only what the pipeline loads.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ._core import UnlearnkitError
from .hf import quiet_hf
from .probe import Probe

# Caption templates the identity is named in (the SD unlearning literature's portrait prompts).
TEMPLATES = ("a photo of {}.", "a portrait of {}.", "{} smiling.", "a painting of {}.", "a close-up of {}'s face.")


def read_names(data: str | Path, name: str) -> tuple[list[str], int]:
    """The names file (one per line) with ``name`` in it; its index is the forget label."""
    path = Path(data)
    if not path.is_file():
        raise UnlearnkitError(f"names file {path} not found (--data: one name per line)")
    names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    folded = [n.casefold() for n in names]
    if name.casefold() not in folded:
        names.append(name)
        folded.append(name.casefold())
    if len(names) < 2:
        raise UnlearnkitError(f"{path} needs other names than {name!r} (they are the retain side)")
    return names, folded.index(name.casefold())


class SDAdapter:
    family = "sd"

    def __init__(self, checkpoint: str | Path, device: str = "cpu", templates=TEMPLATES):
        from transformers import CLIPTextModel, CLIPTokenizer

        quiet_hf()
        self.checkpoint, self.device, self.templates = str(checkpoint), device, tuple(templates)
        try:
            self.module = CLIPTextModel.from_pretrained(self.checkpoint, subfolder="text_encoder", dtype="auto")
            self.tokenizer = CLIPTokenizer.from_pretrained(self.checkpoint, subfolder="tokenizer")
        except (OSError, ValueError) as exc:
            raise UnlearnkitError(f"cannot load a Stable Diffusion pipeline from {checkpoint}: "
                                  f"{str(exc).splitlines()[0]}") from exc
        self.module.to(device).eval()

    def tower(self, name: str) -> str:
        return "text"

    def candidates(self, names: list[str]) -> list[str]:
        return list(names)  # the whole text encoder, minus what candidate_names already excludes

    def tokenize(self, prompts: list[str]) -> torch.Tensor:
        return self.tokenizer(prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
                              truncation=True, return_tensors="pt").input_ids

    def prompts(self, names: list[str]) -> tuple[list[str], list[int], list[int]]:
        """Every (template, name) prompt with its name index and template index."""
        rows = [(t.format(n), k, g) for g, t in enumerate(self.templates) for k, n in enumerate(names)]
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def probe(self, name: str, data) -> Probe:
        names, forget = read_names(data, name)
        prompts, labels, groups = self.prompts(names)
        return Probe(self.tokenize(prompts), torch.tensor(labels), torch.tensor(groups), names, forget,
                     meta={"prompts": prompts})

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The UNet's conditioning: last hidden state over the padded context, flattened."""
        return self.module(input_ids=input_ids.to(self.module.device)).last_hidden_state.flatten(1)

    def save(self, folder: Path) -> None:
        """``CLIPTextModel.from_pretrained(folder)`` loads it; pass it as the pipeline's ``text_encoder``."""
        self.module.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)

    def pipeline(self):
        from diffusers import StableDiffusionPipeline

        return StableDiffusionPipeline.from_pretrained(self.checkpoint, text_encoder=self.module, safety_checker=None,
                                                       requires_safety_checker=False,
                                                       torch_dtype=self.module.dtype).to(self.device)

    def generation_metrics(self, probe: Probe, score_model: str | Path | None = None, steps: int = 25,
                           seed: int = 0, max_prompts: int = 8, **_) -> dict:
        """CLIP score (x100) of images generated from the forget and retain prompts against the caption
        naming each prompt's identity ("a photo of {name}."), scored by a transformers CLIP model; at most
        ``max_prompts`` prompts per side (one image each, seeded)."""
        if score_model is None:
            raise UnlearnkitError("--generate for --family sd needs --score-model (a transformers CLIP, e.g. "
                                  "openai/clip-vit-large-patch14)")
        from transformers import CLIPModel, CLIPProcessor

        clip = CLIPModel.from_pretrained(str(score_model)).to(self.device).eval()
        proc = CLIPProcessor.from_pretrained(str(score_model))
        pipe = self.pipeline()
        prompts = probe.meta["prompts"]
        out = {}
        for side, index in (("forget", probe.forget_index), ("retain", probe.retain_index)):
            scores = []
            for i in index.tolist()[:max_prompts]:
                gen = torch.Generator("cpu").manual_seed(seed + i)
                image = pipe(prompts[i], num_inference_steps=steps, generator=gen).images[0]
                caption = f"a photo of {probe.names[int(probe.labels[i])]}."
                inputs = proc(text=[caption], images=[image], return_tensors="pt", padding=True).to(self.device)
                with torch.no_grad():
                    img = clip.get_image_features(pixel_values=inputs["pixel_values"])
                    txt = clip.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
                img, txt = (getattr(t, "pooler_output", t) for t in (img, txt))
                scores.append(100.0 * torch.nn.functional.cosine_similarity(img, txt).item())
            out[f"{side}_clip_score"] = sum(scores) / max(len(scores), 1)
        return out


def load_sd(checkpoint, device: str = "cpu") -> SDAdapter:
    return SDAdapter(checkpoint, device)

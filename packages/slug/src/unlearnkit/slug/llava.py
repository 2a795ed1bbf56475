"""LLaVA: SLUG on one attention projection (q/k/v) of the vision tower (extra ``unlearnkit-slug[llava]``).

The probe is image only: ``--data`` is a folder with one sub-folder of images per identity, the forget
identity is ``--name`` (a sub-folder; ``_`` reads as a space). An image's feature is what LLaVA hands its
projector: the vision tower's hidden state at ``vision_feature_layer`` (patch tokens for the "default"
strategy), averaged over tokens. Only the vision tower carries gradients; the language model is frozen and
never run during grads/layers/unlearn. With real weights, ``generation_metrics`` asks "Who is this?".
"""

from __future__ import annotations

from pathlib import Path

import torch

from ._core import UnlearnkitError
from .hf import quiet_hf
from .probe import Probe

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
QUESTION = "Who is this?"


def read_identity_folder(data: str | Path, name: str) -> tuple[list[Path], list[int], list[str], int]:
    """Image paths, identity labels, identity names (folder names) and the forget identity's index."""
    root = Path(data)
    if not root.is_dir():
        raise UnlearnkitError(f"image folder {root} not found (--data: one sub-folder of images per identity)")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    names = [p.name for p in folders]
    wanted = name.replace(" ", "_").casefold()
    match = [i for i, n in enumerate(names) if n.casefold() == wanted]
    if not match:
        raise UnlearnkitError(f"no sub-folder {name.replace(' ', '_')!r} in {root} (have: {', '.join(names)})")
    paths, labels = [], []
    for k, folder in enumerate(folders):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        paths += files
        labels += [k] * len(files)
    if len(folders) < 2 or not any(label != match[0] for label in labels):
        raise UnlearnkitError(f"{root} needs images of other identities too (they are the retain side)")
    if match[0] not in labels:
        raise UnlearnkitError(f"{root / names[match[0]]} has no images")
    return paths, labels, names, match[0]


def names_identity(answer: str, name: str) -> bool:
    """Does a generated answer name the identity? The full name or its last word, any case."""
    text = answer.casefold()
    words = name.replace("_", " ").split()
    return bool(words) and (" ".join(words).casefold() in text or words[-1].casefold() in text)


class LlavaAdapter:
    family = "llava"

    def __init__(self, checkpoint: str | Path, device: str = "cpu"):
        from transformers import AutoImageProcessor, LlavaForConditionalGeneration

        quiet_hf()
        self.checkpoint, self.device = str(checkpoint), device
        try:
            # the stored dtype (fp16 for llava-hf): saving back then leaves every other tensor bit-identical
            self.module = LlavaForConditionalGeneration.from_pretrained(self.checkpoint, dtype="auto")
            self.image_processor = AutoImageProcessor.from_pretrained(self.checkpoint)
        except (OSError, ValueError) as exc:
            raise UnlearnkitError(f"cannot load a LLaVA model from {checkpoint}: {str(exc).splitlines()[0]}") from exc
        self.module.to(device).eval()
        for n, p in self.module.named_parameters():  # gradients only where SLUG may edit
            p.requires_grad_(self.is_vision(n))
        cfg = self.module.config
        self.feature_layer = cfg.vision_feature_layer
        self.strategy = cfg.vision_feature_select_strategy

    @staticmethod
    def is_vision(name: str) -> bool:
        return "vision_tower." in name

    @property
    def vision_tower(self):
        inner = getattr(self.module, "model", None)
        return getattr(inner, "vision_tower", None) or self.module.vision_tower

    def tower(self, name: str) -> str:
        return "vision"

    def candidates(self, names: list[str]) -> list[str]:
        """The paper's choice for VLMs: the vision tower's attention q/k/v projection weights."""
        return [n for n in names if self.is_vision(n) and n.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight"))]

    def pixels(self, paths: list[Path]) -> torch.Tensor:
        from PIL import Image

        images = [Image.open(p).convert("RGB") for p in paths]
        return self.image_processor(images=images, return_tensors="pt")["pixel_values"]

    def probe(self, name: str, data) -> Probe:
        paths, labels, names, forget = read_identity_folder(data, name)
        return Probe(self.pixels(paths), torch.tensor(labels), torch.zeros(len(labels), dtype=torch.long),
                     [n.replace("_", " ") for n in names], forget, meta={"paths": [str(p) for p in paths]})

    def embed(self, pixel_values: torch.Tensor) -> torch.Tensor:
        vt = self.vision_tower
        out = vt(pixel_values.to(self.module.device, next(vt.parameters()).dtype), output_hidden_states=True)
        layers = self.feature_layer if isinstance(self.feature_layer, list | tuple) else [self.feature_layer]
        hidden = torch.cat([out.hidden_states[i] for i in layers], dim=-1)  # several layers: LLaVA concatenates
        if self.strategy == "default":
            hidden = hidden[:, 1:]  # LLaVA drops the CLS token before the projector
        return hidden.float().mean(1)

    def save(self, folder: Path) -> None:
        """A full LLaVA checkpoint (``LlavaForConditionalGeneration.from_pretrained(folder)``), processor too."""
        self.module.save_pretrained(folder)
        try:
            from transformers import AutoProcessor

            AutoProcessor.from_pretrained(self.checkpoint).save_pretrained(folder)
        except (OSError, ValueError, TypeError):
            self.image_processor.save_pretrained(folder)

    def ask(self, images, question: str = QUESTION, max_new_tokens: int = 24) -> list[str]:
        """Greedy answers of the model as it is now to ``question`` about each image."""
        from transformers import AutoProcessor

        processor = AutoProcessor.from_pretrained(self.checkpoint)
        conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
        prompt = processor.apply_chat_template(conversation, add_generation_prompt=True)
        answers = []
        for image in images:
            inputs = processor(images=image, text=prompt, return_tensors="pt").to(self.module.device)
            inputs["pixel_values"] = inputs["pixel_values"].to(self.module.dtype)
            with torch.no_grad():
                out = self.module.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
            answers.append(processor.decode(out[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True))
        return answers

    def generation_metrics(self, probe: Probe, question: str = QUESTION, max_images: int = 20,
                           max_new_tokens: int = 24, **_) -> dict:
        """Percent of forget images whose answer to "Who is this?" still names the identity, and percent of
        retain images whose answer names their own identity (at most ``max_images`` per side)."""
        from PIL import Image

        paths = probe.meta["paths"]
        out = {}
        for side, index in (("forget", probe.forget_index), ("retain", probe.retain_index)):
            index = index.tolist()[:max_images]
            answers = self.ask([Image.open(paths[i]).convert("RGB") for i in index], question, max_new_tokens)
            hits = [names_identity(a, probe.names[int(probe.labels[i])]) for a, i in zip(answers, index, strict=True)]
            out[f"{side}_names_identity"] = 100.0 * sum(hits) / max(len(hits), 1)
            out[f"{side}_answers"] = answers[:5]
        return out


def load_llava(checkpoint, device: str = "cpu") -> LlavaAdapter:
    return LlavaAdapter(checkpoint, device)

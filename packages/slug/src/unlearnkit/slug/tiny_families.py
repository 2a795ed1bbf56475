"""Tiny, randomly initialised Stable Diffusion and LLaVA checkpoints (and data) written to a folder, for the
tests, the benchmark and the offline demo: everything is built from config classes, nothing is downloaded.

    python -m unlearnkit.slug.tiny_families sd WORK_DIR      # WORK_DIR/sd-pipeline, WORK_DIR/names.txt
    python -m unlearnkit.slug.tiny_families llava WORK_DIR   # WORK_DIR/llava, WORK_DIR/faces/<identity>/
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from .hf import quiet_hf
from .sd import TEMPLATES

NAMES = ("Ada Lovelace", "Alan Turing", "Grace Hopper", "John von Neumann", "Emmy Noether", "Kurt Goedel")
CONTEXT = 16
TEXT_WIDTH = 64


def _words(texts) -> list[str]:
    out: list[str] = []
    for t in texts:
        for w in t.lower().replace(".", " . ").replace("'", " ' ").split():
            if w not in out:
                out.append(w)
    return out


def write_clip_tokenizer_files(folder: Path, words: list[str]) -> None:
    """vocab.json + merges.txt of a byte-level BPE in which each word is one token (CLIP's format:
    characters, characters + '</w>', then one merge per step of each word)."""
    chars = sorted({c for w in words for c in w} | set("abcdefghijklmnopqrstuvwxyz.'"))
    vocab = ["<|startoftext|>", "<|endoftext|>"] + chars + [c + "</w>" for c in chars]
    merges: list[str] = []
    for w in words:
        pieces = list(w[:-1]) + [w[-1] + "</w>"]
        while len(pieces) > 1:
            merges.append(f"{pieces[0]} {pieces[1]}")
            pieces = [pieces[0] + pieces[1]] + pieces[2:]
            if pieces[0] not in vocab:
                vocab.append(pieces[0])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n")


def make_tiny_sd(work_dir: str | Path, seed: int = 0, names=NAMES) -> tuple[Path, Path]:
    """A StableDiffusionPipeline folder (text encoder 3 layers x width 64, UNet of 32 channels, VAE of 8) and a
    names file. Returns (pipeline folder, names file)."""
    quiet_hf()
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    work = Path(work_dir)
    tok_dir = work / "_tokenizer_files"
    write_clip_tokenizer_files(tok_dir, _words([t.format(n) for t in TEMPLATES for n in names]))
    tokenizer = CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"), model_max_length=CONTEXT)
    torch.manual_seed(seed)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=TEXT_WIDTH, intermediate_size=2 * TEXT_WIDTH,
                                        num_hidden_layers=3, num_attention_heads=4, max_position_embeddings=CONTEXT,
                                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                        pad_token_id=tokenizer.pad_token_id))
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(32, 32), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=TEXT_WIDTH,
                                attention_head_dim=4, norm_num_groups=8)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8),
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=8, sample_size=16)
    scheduler = DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                              steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(work / "sd-pipeline")
    names_file = work / "names.txt"
    names_file.write_text("\n".join(names) + "\n")
    return work / "sd-pipeline", names_file


def make_tiny_clip_scorer(work_dir: str | Path, names=NAMES, seed: int = 0) -> Path:
    """A transformers CLIPModel + CLIPProcessor folder (the CLIP-score model of ``slug eval --generate``)."""
    quiet_hf()
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    work = Path(work_dir)
    tok_dir = work / "_scorer_tokenizer_files"
    write_clip_tokenizer_files(tok_dir, _words([t.format(n) for t in (*TEMPLATES, "a photo of {}.") for n in names]))
    tokenizer = CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"), model_max_length=CONTEXT)
    torch.manual_seed(seed)
    text = {"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "max_position_embeddings": CONTEXT, "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    vision = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
              "image_size": 32, "patch_size": 8}
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)).save_pretrained(work / "clip-scorer")
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                                 crop_size={"height": 32, "width": 32}),
                              tokenizer=tokenizer)
    processor.save_pretrained(work / "clip-scorer")
    return work / "clip-scorer"


def write_faces(folder: Path, names=NAMES, per_identity: int = 6, size: int = 32, seed: int = 0) -> Path:
    """One sub-folder per identity of PNGs: a fixed random pattern per identity plus per-image noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in names:
        base = rng.uniform(0, 255, (size, size, 3))
        d = folder / name.replace(" ", "_")
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_identity):
            img = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(d / f"{i}.png")
    return folder


def make_tiny_llava(work_dir: str | Path, seed: int = 0, names=NAMES) -> tuple[Path, Path]:
    """A LlavaForConditionalGeneration folder (CLIP vision tower 32 px / patch 8 / 3 layers x width 32,
    Llama text model 2 layers x width 32) with an image processor, a word-level tokenizer and a chat
    template (so "Who is this?" runs), and a faces folder. Returns (model folder, faces folder)."""
    quiet_hf()
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    work = Path(work_dir)
    words = ["<unk>", "<s>", "</s>", "<pad>", "<image>", "USER", "ASSISTANT", ":", "?"]
    words += _words(["who is this", "this is a person", *names])
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                        pad_token="<pad>", extra_special_tokens={"image_token": "<image>"})
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    template = ("{% for m in messages %}{% if m['role'] == 'user' %}USER: {% for c in m['content'] %}"
                "{% if c['type'] == 'image' %}<image> {% else %}{{ c['text'] }}{% endif %}{% endfor %}"
                "{% endif %}{% endfor %}{% if add_generation_prompt %} ASSISTANT:{% endif %}")
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=8,
                               vision_feature_select_strategy="default", chat_template=template,
                               num_additional_image_tokens=1)
    torch.manual_seed(seed)
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                       num_attention_heads=4, image_size=32, patch_size=8, projection_dim=32),
        text_config=LlamaConfig(vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64,
                                bos_token_id=1, eos_token_id=2, pad_token_id=3),
        image_token_index=words.index("<image>"), vision_feature_layer=-2, vision_feature_select_strategy="default")
    model = LlavaForConditionalGeneration(cfg)
    model.generation_config.pad_token_id = 3
    model.save_pretrained(work / "llava")
    processor.save_pretrained(work / "llava")
    return work / "llava", write_faces(work / "faces", names)


BUILDERS = {"sd": make_tiny_sd, "llava": make_tiny_llava}


def main(argv: list[str] | None = None) -> None:
    family, work = (argv or sys.argv[1:])[:2]
    print(*BUILDERS[family](work))


if __name__ == "__main__":
    main()

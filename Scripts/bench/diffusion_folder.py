"""Writes a full-size random-weight SDXL-inpainting diffusers folder and an LCM-LoRA-shaped random LoRA.

The folder has the layout and the published configs of diffusers/stable-diffusion-xl-1.0-inpainting-0.1 (UNet with
9 input channels, 2,567,478,084 parameters; the SDXL VAE; CLIP ViT-L and OpenCLIP bigG text encoders; both CLIP
tokenizers with the real BPE vocabulary that open_clip_torch ships; the Euler scheduler config), with weights in
fp16 safetensors under the `variant="fp16"` names (`diffusion_pytorch_model.fp16.safetensors`,
`model.fp16.safetensors`). The LoRA has RORem-4S's shape: rank 64 (alpha 64) on the modules train_RORem_lcm.py
targets by default (attention projections, proj_in/out, feed-forward, resnet convolutions and shortcuts,
down/upsampler convolutions, time embedding projections), in diffusers' `unet.<module>.lora.down/up.weight` names.

Memory: every model is built on torch's meta device (shapes only), and each tensor is drawn, converted to fp16 and
streamed to its file on its own, so building never holds more than one tensor (at most 253 MB in float32).

Usage: python Scripts/bench/diffusion_folder.py [--cache ~/.cache/rorem-bench]   (torch, diffusers, transformers,
       open_clip_torch). A folder that is already complete is reused.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "DiffusionTests" / "Fixtures"
# Bump when the folder's contents change, so cached folders are rebuilt.
SPEC = "sdxl-inpaint-random-v1"
UNET_PARAMETERS = 2_567_478_084

MODEL_INDEX = {
    "_class_name": "StableDiffusionXLInpaintPipeline",
    "_diffusers_version": "0.21.0.dev0",
    "force_zeros_for_empty_prompt": True,
    "requires_aesthetics_score": False,
    "scheduler": ["diffusers", "EulerDiscreteScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "tokenizer_2": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}

SCHEDULER = {
    "_class_name": "EulerDiscreteScheduler",
    "_diffusers_version": "0.21.0.dev0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "sample_max_value": 1.0,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "trained_betas": None,
    "use_karras_sigmas": False,
}

# The published text encoder configs (their bos/eos/pad ids are the ones the files carry).
_CLIP_COMMON = {"attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2,
                "initializer_factor": 1.0, "initializer_range": 0.02, "layer_norm_eps": 1e-05,
                "max_position_embeddings": 77, "model_type": "clip_text_model", "pad_token_id": 1,
                "torch_dtype": "float16", "vocab_size": 49408}
TEXT_ENCODER = {"architectures": ["CLIPTextModel"], "hidden_act": "quick_gelu", "hidden_size": 768,
                "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12, "projection_dim": 768,
                **_CLIP_COMMON}
TEXT_ENCODER_2 = {"architectures": ["CLIPTextModelWithProjection"], "hidden_act": "gelu", "hidden_size": 1280,
                  "intermediate_size": 5120, "num_attention_heads": 20, "num_hidden_layers": 32, "projection_dim": 1280,
                  **_CLIP_COMMON}

# train_RORem_lcm.py's default LoRA targets; rank and alpha 64 (its defaults).
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1",
                "conv2", "conv_shortcut", "downsamplers.0.conv", "upsamplers.0.conv", "time_emb_proj"]
LORA_RANK = 64


def write_safetensors(path: Path, shapes: dict[str, tuple[int, ...]], make, metadata: dict[str, str] | None = None):
    """Streams an F16 safetensors file: the header from `shapes` (names sorted), then `make(name, shape)` (a torch
    tensor) for each tensor in turn, converted to fp16; temp file + fsync + rename."""
    import torch

    header: dict = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    names = sorted(shapes)
    for name in names:
        n = 2 * math.prod(shapes[name])
        header[name] = {"dtype": "F16", "shape": list(shapes[name]), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name in names:
            t = make(name, shapes[name]).to(torch.float16).contiguous()
            assert tuple(t.shape) == tuple(shapes[name]), (name, t.shape, shapes[name])
            f.write(t.numpy().tobytes())
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class RandomWeights:
    """Deterministic random values for a tensor from its name and shape, near PyTorch's default init: uniform in
    +-1/sqrt(fan_in) for matrices and kernels, N(0, 0.02) for embeddings, ones for norm weights, zeros for biases."""

    def __init__(self, seed: int):
        import torch

        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, name: str, shape: tuple[int, ...]):
        import torch

        if len(shape) == 1:
            return torch.ones(shape) if name.endswith("weight") else torch.zeros(shape)
        if "embedding" in name:
            return torch.randn(shape, generator=self.generator) * 0.02
        bound = 1 / math.sqrt(math.prod(shape[1:]))
        return (torch.rand(shape, generator=self.generator) * 2 - 1) * bound


def meta_shapes(model) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def build_unet(folder: Path, config: dict):
    import torch
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(config)
    shapes = meta_shapes(unet)
    count = sum(math.prod(s) for s in shapes.values())
    if count != UNET_PARAMETERS:
        sys.exit(f"diffusion_folder: the UNet config gives {count:,} parameters, expected {UNET_PARAMETERS:,}")
    (folder / "unet").mkdir(parents=True, exist_ok=True)
    (folder / "unet" / "config.json").write_text(json.dumps(config, indent=2))
    write_safetensors(folder / "unet" / "diffusion_pytorch_model.fp16.safetensors", shapes, RandomWeights(1))
    return unet, count


def build_vae(folder: Path, config: dict) -> int:
    import torch
    from diffusers import AutoencoderKL

    with torch.device("meta"):
        vae = AutoencoderKL.from_config(config)
    shapes = meta_shapes(vae)
    (folder / "vae").mkdir(parents=True, exist_ok=True)
    (folder / "vae" / "config.json").write_text(json.dumps(config, indent=2))
    write_safetensors(folder / "vae" / "diffusion_pytorch_model.fp16.safetensors", shapes, RandomWeights(2))
    return sum(math.prod(s) for s in shapes.values())


def build_text(folder: Path, name: str, config: dict, seed: int) -> int:
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    cls = CLIPTextModel if config["architectures"][0] == "CLIPTextModel" else CLIPTextModelWithProjection
    with torch.device("meta"):
        model = cls(CLIPTextConfig(**{k: v for k, v in config.items() if k not in ("architectures", "torch_dtype")}))
    shapes = {k: v for k, v in meta_shapes(model).items() if not k.endswith("position_ids")}
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "config.json").write_text(json.dumps(config, indent=2))
    write_safetensors(folder / name / "model.fp16.safetensors", shapes, RandomWeights(seed))
    return sum(math.prod(s) for s in shapes.values())


def build_tokenizers(folder: Path):
    sys.path.insert(0, str(ROOT / "Scripts" / "fixtures"))
    from make_diffusion_text_fixtures import full_clip_vocabulary, write_tokenizer_folder

    vocab, merges = full_clip_vocabulary()
    ids = {t: i for i, t in enumerate(vocab)}
    for name, pad in (("tokenizer", "<|endoftext|>"), ("tokenizer_2", "!")):
        write_tokenizer_folder(str(folder / name), ids, merges, pad, 77)


def lora_shapes(unet) -> dict[str, tuple[int, ...]]:
    """diffusers-format LoRA factor shapes for every Linear / Conv2d whose name matches a target as PEFT matches
    them (the whole name, or a suffix after a dot)."""
    import torch

    shapes = {}
    for name, module in unet.named_modules():
        if not any(name == t or name.endswith("." + t) for t in LORA_TARGETS):
            continue
        if isinstance(module, torch.nn.Linear):
            down, up = (LORA_RANK, module.in_features), (module.out_features, LORA_RANK)
        elif isinstance(module, torch.nn.Conv2d):
            down = (LORA_RANK, module.in_channels, *module.kernel_size)
            up = (module.out_channels, LORA_RANK, 1, 1)
        else:
            continue
        shapes[f"unet.{name}.lora.down.weight"] = down
        shapes[f"unet.{name}.lora.up.weight"] = up
    return shapes


def build_lora(path: Path, unet):
    """A random LoRA of RORem-4S's shape; the up factors are small so the fused weights stay near the base's."""
    random = RandomWeights(5)

    def make(name, shape):
        t = random(name, shape)
        return t * 0.01 if ".lora.up." in name else t

    path.parent.mkdir(parents=True, exist_ok=True)
    shapes = lora_shapes(unet)
    write_safetensors(path, shapes, make)
    return len(shapes) // 2, sum(math.prod(s) for s in shapes.values())


def ensure(cache: Path, log=print) -> tuple[Path, Path]:
    """The random SDXL-inpainting folder and LoRA file under `cache`, built unless already complete."""
    folder, lora = cache / "sdxl-inpaint-random", cache / "rorem-4s-lora-random" / "pytorch_lora_weights.safetensors"
    stamp = folder / ".complete"
    if stamp.exists() and stamp.read_text().strip() == SPEC and lora.exists():
        log(f"reusing {folder}")
        return folder, lora
    if folder.exists():
        shutil.rmtree(folder)
    work = folder.with_name(folder.name + ".partial")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    unet_config = json.loads((FIXTURES / "sdxl_inpainting_unet" / "config.json").read_text())
    vae_config = json.loads((FIXTURES / "sdxl_vae" / "config.json").read_text())
    (work / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=2))
    (work / "scheduler").mkdir()
    (work / "scheduler" / "scheduler_config.json").write_text(json.dumps(SCHEDULER, indent=2))
    build_tokenizers(work)
    log(f"text_encoder: {build_text(work, 'text_encoder', TEXT_ENCODER, 3):,} parameters")
    log(f"text_encoder_2: {build_text(work, 'text_encoder_2', TEXT_ENCODER_2, 4):,} parameters")
    log(f"vae: {build_vae(work, vae_config):,} parameters")
    unet, count = build_unet(work, unet_config)
    log(f"unet: {count:,} parameters")
    modules, lora_count = build_lora(lora, unet)
    log(f"lora: {modules} modules, {lora_count:,} parameters (rank {LORA_RANK})")
    (work / ".complete").write_text(SPEC + "\n")
    work.replace(folder)
    return folder, lora


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "rorem-bench")
    args = parser.parse_args()
    folder, lora = ensure(args.cache)
    print(folder)
    print(lora)


if __name__ == "__main__":
    main()

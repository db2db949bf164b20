"""diffusers' side of the diffusion benchmark, run in its own process (Scripts/bench/diffusion.py starts it).

Loads a diffusers SDXL-inpainting folder with StableDiffusionXLInpaintPipeline in the given dtype, switches to
LCMScheduler and fuses the LoRA as RORem's inference_RORem_4S.py does, then times on the CPU, like
`rorem bench diffusion` (Sources/Diffusion/Pipeline/DiffusionBenchmark.swift), each part once to warm up and then
`--runs` times: one UNet evaluation (batch 1, no classifier-free guidance, t = 999), the VAE encode of an image, the
VAE decode of latents, and the RORem-4S removal (prompt "", guidance 1, 4 steps, strength 0.99: 3 UNet evaluations,
two VAE encodes, one decode, and diffusers encodes the prompt on every call). Prints one JSON object: the medians in
milliseconds, every run's times, the peak resident set (getrusage) and versions.

Usage: python Scripts/bench/diffusion_reference.py --folder DIR [--lora FILE] [--variant fp16] [--dtype fp32|bf16]
       [--resolution 512] [--runs 3] [--threads 2] [--parts unet,encode,decode,remove]
(--parts encode,decode loads only the VAE, as `rorem bench diffusion --parts encode,decode` does.)
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path


def timed(runs: int, fn) -> list[float]:
    """fn() once to warm up, then `runs` wall times in milliseconds."""
    fn()
    times = []
    for _ in range(max(1, runs)):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", required=True)
    parser.add_argument("--lora")
    parser.add_argument("--lora-scale", type=float, default=1.0)
    parser.add_argument("--variant")
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parts", default="unet,encode,decode,remove")
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"unet", "encode", "decode", "remove"}
    if unknown or not parts:
        parser.error(f"--parts: unknown or no parts {sorted(unknown)} (unet, encode, decode, remove)")

    import torch
    from diffusers import AutoencoderKL, LCMScheduler, StableDiffusionXLInpaintPipeline

    torch.set_num_threads(args.threads)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    started = time.perf_counter()
    if not parts & {"unet", "remove"}:
        vae_only(args, parts, dtype, AutoencoderKL, started)
        return
    pipe = StableDiffusionXLInpaintPipeline.from_pretrained(args.folder, torch_dtype=dtype, variant=args.variant)
    pipe.scheduler = LCMScheduler.from_config(pipe.scheduler.config)
    if args.lora:
        lora = Path(args.lora)
        pipe.load_lora_weights(str(lora.parent), weight_name=lora.name)
        pipe.fuse_lora(lora_scale=args.lora_scale)
        pipe.unload_lora_weights()  # keeps the fused weights, drops the LoRA layers
    pipe.set_progress_bar_config(disable=True)
    load_ms = (time.perf_counter() - started) * 1e3

    r = args.resolution
    f = pipe.vae_scale_factor
    l = r // f
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, r, r, generator=g)  # (1, 3, R, R) in [0, 1]
    mask = torch.zeros(1, 1, r, r)  # the centre square, as the Swift benchmark
    mask[:, :, r // 4:3 * r // 4, r // 4:3 * r // 4] = 1
    out: dict = {}
    with torch.inference_mode():
        embeds, _, pooled, _ = pipe.encode_prompt("", device=torch.device("cpu"), num_images_per_prompt=1,
                                                  do_classifier_free_guidance=False)
        latents = torch.randn(1, pipe.unet.config.in_channels, l, l, generator=g).to(dtype)  # (1, 9, R/8, R/8)
        ids = torch.tensor([[r, r, 0, 0, r, r]], dtype=dtype)
        cond = {"text_embeds": pooled, "time_ids": ids}
        if "unet" in parts:
            out["unet_step_ms"] = timed(args.runs, lambda: pipe.unet(latents, 999, encoder_hidden_states=embeds,
                                                                      added_cond_kwargs=cond))
        if "encode" in parts:
            pixels = (image * 2 - 1).to(dtype)
            out["vae_encode_ms"] = timed(args.runs, lambda: pipe.vae.encode(pixels))
        if "decode" in parts:
            z = torch.randn(1, pipe.vae.config.latent_channels, l, l, generator=g).to(dtype)
            out["vae_decode_ms"] = timed(args.runs, lambda: pipe.vae.decode(z))
        if "remove" in parts:
            out["remove_4step_ms"] = timed(args.runs, lambda: pipe(
                prompt="", image=image, mask_image=mask, height=r, width=r, guidance_scale=1.0, num_inference_steps=4,
                strength=0.99, generator=torch.Generator().manual_seed(0), output_type="np"))
    print_result(out, load_ms, args.dtype)


def print_result(out: dict, load_ms: float, dtype: str):
    """Prints the JSON object the benchmark reads: each measure's median, every run, load time, peak memory, versions."""
    import diffusers
    import torch

    result = {name: statistics.median(times) for name, times in out.items()}
    result["runs"] = out
    result["load_ms"] = load_ms
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["threads"] = torch.get_num_threads()
    result["dtype"] = dtype
    result["versions"] = {"torch": torch.__version__, "diffusers": diffusers.__version__}
    print(json.dumps(result))


def vae_only(args, parts: set, dtype, AutoencoderKL, started: float):
    """Loads only the folder's VAE and times its encode and/or decode on the same inputs as `main`."""
    import torch

    vae = AutoencoderKL.from_pretrained(str(Path(args.folder) / "vae"), torch_dtype=dtype, variant=args.variant)
    load_ms = (time.perf_counter() - started) * 1e3
    r = args.resolution
    f = 2 ** (len(vae.config.block_out_channels) - 1)
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, r, r, generator=g)
    out: dict = {}
    with torch.inference_mode():
        if "encode" in parts:
            pixels = (image * 2 - 1).to(dtype)
            out["vae_encode_ms"] = timed(args.runs, lambda: vae.encode(pixels))
        if "decode" in parts:
            z = torch.randn(1, vae.config.latent_channels, r // f, r // f, generator=g).to(dtype)
            out["vae_decode_ms"] = timed(args.runs, lambda: vae.decode(z))
    print_result(out, load_ms, args.dtype)


if __name__ == "__main__":
    main()

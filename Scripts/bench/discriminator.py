"""RORem's discriminator in PyTorch (RORem's own model code) beside `rorem bench discriminator`, in one run.

Times the same three things on both sides, at the same resolution and thread count:
  score_ms             one (source, mask, result) triplet at batch 1: both VAE encodes (posterior mean), the mask,
                       the encoder half and the head (the empty prompt's embeddings computed once, as rorem does)
  train_step_b<N>_ms   one AdamW step (lr 0) on N triplets of latents, MSE on the softplus output, LoRA and head
                       trainable, gradient checkpointing on the UNet's blocks (as RORem's training script)
  peak_rss_mb          the process's peak resident memory (rorem: its own process; PyTorch: this one)

The base can be written first (`--write-base DIR`): the FULL-SIZE SDXL-inpainting architecture (UNet with 9 input
channels, VAE, CLIP ViT-L and OpenCLIP bigG text encoders) with random fp16 weights, about 7 GB on disk, built one
component at a time on the meta device and filled in fp16 so that writing stays under ~8 GB of memory. The tokenizers
are a toy byte-level vocabulary (the empty prompt needs only its two special tokens). `--config tiny` writes the same
layout from the tiny test fixture's configs instead (what Scripts/bench/test_discriminator_bench.py runs, with
`--head-width 64`: a head as wide as the tiny mid block's 32 channels would have one channel per GroupNorm group).

Without `--lora`, both sides time a fresh discriminator: rank-4 LoRA on to_q/k/v/out.0 and a head as wide as the mid
block (1280 for SDXL, as RORem's file).

Usage (the lead's full-size run, ~24 GB machine):
  python Scripts/bench/discriminator.py --rorem-model /path/to/RORem --write-base /tmp/sdxl-random \
      --rorem .build/release/rorem --resolution 512 --batch 1,4 --runs 3
Needs torch, diffusers, transformers, peft (Scripts/requirements-fixtures-diffusion.txt).
"""
import argparse
import atexit
import functools
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.normpath(os.path.join(here, "..", ".."))
tiny_fixture = os.path.join(repo, "Tests", "DiffusionTests", "Fixtures", "tiny-rorem-discriminator", "base")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# The random base folder

SDXL_UNET = dict(
    sample_size=128, in_channels=9, out_channels=4, layers_per_block=2, block_out_channels=[320, 640, 1280],
    down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    attention_head_dim=[5, 10, 20], transformer_layers_per_block=[1, 2, 10], cross_attention_dim=2048,
    addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816,
    use_linear_projection=True, norm_num_groups=32)
SDXL_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, block_out_channels=[128, 256, 512, 512], layers_per_block=2,
    down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4, norm_num_groups=32,
    sample_size=1024, scaling_factor=0.13025, force_upcast=True)
CLIP_L = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
              hidden_act="quick_gelu", projection_dim=768)
CLIP_G = dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=20, num_hidden_layers=32,
              hidden_act="gelu", projection_dim=1280)


def random_fp16(build):
    """`build()` on the meta device, then materialised in fp16 and filled with small random values."""
    import torch
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float16)
    try:
        with torch.device("meta"):
            model = build()
    finally:
        torch.set_default_dtype(previous)
    model = model.to_empty(device="cpu")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32).mul_(fan_in ** -0.5))
            elif "norm" in name and name.endswith("weight"):
                p.fill_(1)
            else:
                p.zero_()
        for name, b in model.named_buffers():
            if "position_ids" in name:
                b.copy_(torch.arange(b.shape[-1]).expand_as(b))
    return model


def write_base(folder, config):
    """A diffusers SDXL-inpainting folder with random fp16 weights (`config`: full or tiny)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection
    os.makedirs(folder, exist_ok=True)
    fixture = tiny_fixture
    def fixture_config(sub):
        with open(os.path.join(fixture, sub, "config.json")) as f:
            c = json.load(f)
        return {k: v for k, v in c.items() if not k.startswith("_") and k not in ("architectures", "dtype", "transformers_version", "model_type")}
    for name in ("tokenizer", "tokenizer_2", "scheduler"):
        shutil.copytree(os.path.join(fixture, name), os.path.join(folder, name), dirs_exist_ok=True)
    shutil.copy(os.path.join(fixture, "model_index.json"), os.path.join(folder, "model_index.json"))
    special = dict(bos_token_id=520, eos_token_id=521, pad_token_id=521, max_position_embeddings=77, layer_norm_eps=1e-5)
    if config == "full":
        unet_c, vae_c = SDXL_UNET, SDXL_VAE
        te1 = CLIPTextConfig(vocab_size=49408, **CLIP_L, **special)
        te2 = CLIPTextConfig(vocab_size=49408, **CLIP_G, **special)
    else:
        unet_c, vae_c = fixture_config("unet"), fixture_config("vae")
        te1, te2 = CLIPTextConfig(**fixture_config("text_encoder")), CLIPTextConfig(**fixture_config("text_encoder_2"))
    for sub, build in (("unet", lambda: UNet2DConditionModel(**unet_c)), ("vae", lambda: AutoencoderKL(**vae_c)),
                       ("text_encoder", lambda: CLIPTextModel(te1)),
                       ("text_encoder_2", lambda: CLIPTextModelWithProjection(te2))):
        log(f"writing random {sub} ({config})")
        model = random_fp16(build)
        # Shards of 1 GB keep serialisation from holding a second copy of the 5 GB UNet (rorem reads the index);
        # the text encoders stay single files, as rorem's CLIP loader expects.
        model.save_pretrained(os.path.join(folder, sub), max_shard_size="1GB" if sub == "unet" else "20GB")
        del model
        gc.collect()
    log(f"base folder written: {folder}")


# ---------------------------------------------------------------------------------------------------------------
# PyTorch with RORem's model code

def rorem_model_class(path):
    """UNet2DConditionDiscriminator from RORem's model file, a RORem checkout, or a bare git repository."""
    tmp = tempfile.mkdtemp(prefix="rorem-model-")
    atexit.register(shutil.rmtree, tmp, True)
    target = os.path.join(tmp, "unet_sdxl_discriminator.py")
    if os.path.isfile(path):
        shutil.copy(path, target)
    elif os.path.isfile(os.path.join(path, "model", "unet_sdxl_discriminator.py")):
        shutil.copy(os.path.join(path, "model", "unet_sdxl_discriminator.py"), target)
    else:
        data = subprocess.run(["git", "-C", path, "show", "HEAD:model/unet_sdxl_discriminator.py"], check=True,
                              capture_output=True).stdout
        open(target, "wb").write(data)
    sys.path.insert(0, tmp)
    from unet_sdxl_discriminator import UNet2DConditionDiscriminator
    return UNet2DConditionDiscriminator


def head(channels, width):
    import torch.nn as nn
    return nn.Sequential(
        nn.Conv2d(channels, width, 4, 2, 1), nn.GroupNorm(32, width), nn.SiLU(),
        nn.Conv2d(width, width, 4, 2, 1), nn.GroupNorm(32, width), nn.SiLU(),
        nn.Conv2d(width, width, 4, 4, 0), nn.GroupNorm(32, width), nn.SiLU(),
        nn.Conv2d(width, 1, 1))


def enable_checkpointing(model):
    """What ModelMixin.enable_gradient_checkpointing does; RORem's file overrides the hook with an older API."""
    import torch.utils.checkpoint
    for m in model.modules():
        if hasattr(m, "gradient_checkpointing"):
            m.gradient_checkpointing = True
            m._gradient_checkpointing_func = functools.partial(torch.utils.checkpoint.checkpoint, use_reentrant=False)


def variant_of(folder, stem="diffusion_pytorch_model"):
    """"fp16" when a component folder holds only the fp16 variant of its weights, else None."""
    plain = any(os.path.exists(os.path.join(folder, f"{stem}.{e}")) for e in ("safetensors", "bin", "safetensors.index.json"))
    return None if plain else "fp16"


def pytorch_bench(args, Disc, sizes):
    import torch
    import torch.nn.functional as F
    from diffusers import AutoencoderKL
    from diffusers.image_processor import VaeImageProcessor
    from peft import LoraConfig
    from transformers import CLIPTextModel, CLIPTextModelWithProjection
    torch.manual_seed(0)
    log("PyTorch: loading the discriminator (float32)")
    unet = Disc.from_pretrained(args.base, subfolder="unet", low_cpu_mem_usage=False, torch_dtype=torch.float32,
                                variant=variant_of(os.path.join(args.base, "unet")))
    mid = unet.config.block_out_channels[-1]
    width = args.head_width or mid
    cls = None
    if args.lora:
        cls = torch.load(os.path.join(args.lora, "cls_pred_branch.pt"), weights_only=True)
        width = cls["cls_pred_branch.0.weight"].shape[0]
    unet.cls_pred_branch = head(mid, width)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian",
                                target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
    if args.lora:
        from diffusers.loaders import StableDiffusionLoraLoaderMixin
        from diffusers.utils import convert_unet_state_dict_to_peft
        from peft.utils import set_peft_model_state_dict
        state, _ = StableDiffusionLoraLoaderMixin.lora_state_dict(args.lora)
        state = {k.replace("unet.", ""): v for k, v in state.items() if k.startswith("unet.")}
        set_peft_model_state_dict(unet, convert_unet_state_dict_to_peft(state), adapter_name="default")
        unet.load_state_dict(cls, strict=False)
    unet = unet.float()
    vae = AutoencoderKL.from_pretrained(args.base, subfolder="vae", torch_dtype=torch.float32,
                                        variant=variant_of(os.path.join(args.base, "vae")))
    log("PyTorch: encoding the empty prompt, then releasing the text encoders")
    with torch.no_grad():
        ids = torch.tensor([[520] + [521] * 76])
        te1 = CLIPTextModel.from_pretrained(os.path.join(args.base, "text_encoder"), torch_dtype=torch.float32,
                                            variant=variant_of(os.path.join(args.base, "text_encoder"), stem="model"))
        h1 = te1(ids, output_hidden_states=True).hidden_states[-2]
        del te1
        te2 = CLIPTextModelWithProjection.from_pretrained(os.path.join(args.base, "text_encoder_2"), torch_dtype=torch.float32,
                                                          variant=variant_of(os.path.join(args.base, "text_encoder_2"), stem="model"))
        out2 = te2(ids, output_hidden_states=True)
        embeds, pooled = torch.cat([h1, out2.hidden_states[-2]], dim=-1), out2.text_embeds
        del te2, out2
    gc.collect()
    r = args.resolution
    f = 2 ** (len(vae.config.block_out_channels) - 1)
    l = r // f
    ip, mp = VaeImageProcessor(vae_scale_factor=f), VaeImageProcessor(vae_scale_factor=f, do_normalize=False,
                                                                       do_binarize=True, do_convert_grayscale=True)
    time_ids = torch.tensor([[512.0, 512, 0, 0, 512, 512]])

    def forward(x):
        n = x.shape[0]
        return unet(x, torch.zeros(n), embeds.repeat(n, 1, 1),
                    added_cond_kwargs={"text_embeds": pooled.repeat(n, 1), "time_ids": time_ids.repeat(n, 1)})

    def median(name, body):
        body()
        times = []
        for _ in range(max(1, args.runs)):
            t0 = time.perf_counter()
            body()
            times.append((time.perf_counter() - t0) * 1000)
        log(f"PyTorch {name}: " + ", ".join(f"{t:.0f}" for t in times) + " ms")
        return statistics.median(times)

    mask = torch.zeros(1, 1, r, r)
    mask[..., r // 4:3 * r // 4, r // 4:3 * r // 4] = 1

    def score():
        with torch.no_grad():
            src, res = torch.rand(1, 3, r, r), torch.rand(1, 3, r, r)
            s = vae.encode(ip.preprocess(src)).latent_dist.mean * vae.config.scaling_factor
            e = vae.encode(ip.preprocess(res)).latent_dist.mean * vae.config.scaling_factor
            m = F.interpolate(mp.preprocess(mask), size=(l, l))
            return forward(torch.cat([e, m, s], dim=1))

    results = {"score_ms": median("score (batch 1)", score)}
    unet.requires_grad_(False)
    params = []
    for name, p in unet.named_parameters():
        if "lora_" in name or name.startswith("cls_pred_branch."):
            p.requires_grad_(True)
            params.append(p)
    enable_checkpointing(unet)
    unet.train()
    opt = torch.optim.AdamW(params, lr=0.0, weight_decay=0.0)
    for b in sizes:
        x = torch.cat([torch.randn(b, 4, l, l), torch.ones(b, 1, l, l), torch.randn(b, 4, l, l)], dim=1)
        labels = (torch.arange(b) % 2).float()

        def step():
            opt.zero_grad()
            loss = F.mse_loss(forward(x).float(), labels)
            loss.backward()
            opt.step()
        results[f"train_step_b{b}_ms"] = median(f"train step (batch {b})", step)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["params"] = sum(p.numel() for p in unet.parameters())
    results["trainable_params"] = sum(p.numel() for p in params)
    return results


def rorem_bench(args, sizes):
    cmd = [args.rorem, "bench", "discriminator", "--base", args.base, "--resolution", str(args.resolution),
           "--batch", ",".join(map(str, sizes)), "--runs", str(args.runs)]
    if args.lora:
        cmd += ["--lora", args.lora]
    if variant_of(os.path.join(args.base, "unet")):
        cmd += ["--variant", "fp16"]
    if args.head_width and not args.lora:
        cmd += ["--head-width", str(args.head_width)]
    if args.dtype:
        cmd += ["--dtype", args.dtype]
    log("rorem: " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"rorem bench discriminator failed ({proc.returncode}):\n{proc.stdout}")
    values = {}
    for line in proc.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            try:
                values[k] = float(v)
            except ValueError:
                values[k] = v
    return values


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rorem-model", required=True, help="RORem's model/unet_sdxl_discriminator.py, a checkout or a bare repo")
    ap.add_argument("--base", help="an SDXL-inpainting folder (default: the one --write-base writes)")
    ap.add_argument("--write-base", metavar="DIR", help="first write a random base folder to DIR")
    ap.add_argument("--write-only", action="store_true", help="stop after --write-base")
    ap.add_argument("--config", choices=["full", "tiny"], default="full", help="architecture --write-base writes")
    ap.add_argument("--lora", help="a RORem discriminator folder (default: a fresh discriminator)")
    ap.add_argument("--head-width", type=int, help="hidden width of a fresh head (default: the mid block's; tiny bases need 64)")
    ap.add_argument("--rorem", default=os.path.join(repo, ".build", "release", "rorem"), help="the rorem executable")
    ap.add_argument("--resolution", type=int, default=512)
    ap.add_argument("--batch", default="1,4")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", help="also write the numbers to this file")
    ap.add_argument("--dtype", choices=["fp32", "fp16", "bf16"],
                    help="rorem's storage of the frozen base (default: as the files store it; PyTorch holds float32)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.batch.split(",")]
    if args.write_base:
        write_base(args.write_base, args.config)
        args.base = args.base or args.write_base
        if args.write_only:
            return
    if not args.base:
        ap.error("give --base or --write-base")
    import torch
    torch.set_num_threads(args.threads)
    Disc = rorem_model_class(args.rorem_model)
    from diffusers.utils import logging as diffusers_logging
    diffusers_logging.set_verbosity_error()
    ours = rorem_bench(args, sizes)               # first, while this process holds no model
    theirs = pytorch_bench(args, Disc, sizes)
    names = ["score_ms"] + [f"train_step_b{b}_ms" for b in sizes] + ["peak_rss_mb", "params", "trainable_params"]
    print(f"cpu={cpu_model()}")
    print(f"threads={args.threads} resolution={args.resolution} torch={torch.__version__}")
    print(f"{'name':24} {'rorem':>12} {'pytorch':>12} {'ratio':>8}")
    def fmt(v):
        return "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))
    for n in names:
        a, b = ours.get(n), theirs.get(n)
        ratio = f"{a / b:.2f}" if isinstance(a, float) and b and n not in ("params", "trainable_params") else ""
        print(f"{n:24} {fmt(a):>12} {fmt(b):>12} {ratio:>8}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rorem": ours, "pytorch": theirs, "cpu": cpu_model(), "threads": args.threads}, f, indent=1)


if __name__ == "__main__":
    main()

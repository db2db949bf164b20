"""PyTorch CPU twin of `rorem bench engine` (Sources/NN/EngineBenchmark.swift).

Usage: python Scripts/bench/engine.py [--runs N] [--threads 2] [--swift FILE]
  Prints `name=value` lines for PyTorch: sgemm_1024_gflops, bf16_gemm_512_gflops, bf16_gemm_4096_gflops (only
  with native bf16), conv3x3_fwd_ms, conv3x3_320_fp32_ms and conv3x3_320_bf16_ms (320 -> 320 on 1x320x64x64;
  bf16 on one call without native bf16), attention_4096_ms and attention_4096_peak_delta_mb (10 heads of 64), unet_params, unet_fwd_ms,
  unet_train_step_ms (batch 8, L1, Adam), unet_train_step_cpu_ms (CPU time per step, all threads),
  unet_train_peak_rss_mb, unet_train_peak_delta_mb, linear_f16_256x1280x1280_ms and linear_f16_256x10240x1280_ms
  (the SDXL UNet's Linear shapes; rorem keeps the weight in fp16, PyTorch runs it in float32 as diffusers does on
  the CPU: its fp16 CPU matmul is far slower).
  With --swift FILE (the `name=value` output of `rorem bench engine`), also prints `ratio_<name>=swift/torch`
  for every timing and memory value present in both (below 1 means Swift is faster / smaller; for GFLOP/s
  above 1 means Swift is faster).
Needs torch (pip install /opt/wheels/torch-*.whl numpy).
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from reference_nets import ReferenceUNet  # noqa: E402


def median_ms(runs, fn, warmup=True):
    if warmup:
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return float(line.split()[1]) / 1024
    return 0.0


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def bench(runs):
    torch.manual_seed(0)
    out = []
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = median_ms(runs, lambda: torch.mm(a, b))
    out.append(("sgemm_1024_gflops", 2 * n ** 3 / (ms * 1e6)))
    # bf16 GEMM. Without native bf16 (no AVX512-BF16/AMX), PyTorch's CPU bf16 kernels are orders of magnitude
    # slower than its float32 ones (0.3 GFLOP/s at 512 on the AVX2 EPYC): a 4096^3 product would take minutes,
    # so the 4096 size and the repeated bf16 conv run only when a 512 probe shows a native path.
    a16, b16 = torch.randn(512, 512).bfloat16(), torch.randn(512, 512).bfloat16()
    ms = median_ms(runs, lambda: torch.mm(a16, b16))
    probe = 2 * 512 ** 3 / (ms * 1e6)
    out.append(("bf16_gemm_512_gflops", probe))
    native_bf16 = probe >= 10
    if native_bf16:
        a16, b16 = torch.randn(4096, 4096).bfloat16(), torch.randn(4096, 4096).bfloat16()
        ms = median_ms(min(runs, 3), lambda: torch.mm(a16, b16))
        out.append(("bf16_gemm_4096_gflops", 2 * 4096 ** 3 / (ms * 1e6)))
    else:
        print(f"# bf16: no native path (512 probe {probe:.2f} GFLOP/s): bf16 GEMM at 4096 skipped, "
              "bf16 conv timed on one call", flush=True)
    x = torch.randn(1, 64, 128, 128)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1)
    with torch.no_grad():
        out.append(("conv3x3_fwd_ms", median_ms(runs, lambda: conv(x))))
        x320 = torch.randn(1, 320, 64, 64)
        conv320 = torch.nn.Conv2d(320, 320, 3, padding=1)
        out.append(("conv3x3_320_fp32_ms", median_ms(runs, lambda: conv320(x320))))
        conv320h, x320h = conv320.bfloat16(), x320.bfloat16()
        if native_bf16:
            out.append(("conv3x3_320_bf16_ms", median_ms(runs, lambda: conv320h(x320h))))
        else:
            out.append(("conv3x3_320_bf16_ms", median_ms(1, lambda: conv320h(x320h), warmup=False)))
        q, k, v = (torch.randn(1, 10, 4096, 64) for _ in range(3))
        out.append(("attention_4096_ms", median_ms(runs, lambda: F.scaled_dot_product_attention(q, k, v))))
        before = status_mb("VmRSS:")
        reset_peak()
        F.scaled_dot_product_attention(q, k, v)
        out.append(("attention_4096_peak_delta_mb", status_mb("VmHWM:") - before))
        net = ReferenceUNet()
        out.append(("unet_params", float(sum(p.numel() for p in net.parameters()))))
        image = torch.randn(1, 4, 128, 128)
        out.append(("unet_fwd_ms", median_ms(runs, lambda: net(image))))
    batch, target = torch.randn(8, 4, 128, 128), torch.randn(8, 3, 128, 128)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.l1_loss(net(batch), target)
        loss.backward()
        opt.step()

    before = status_mb("VmRSS:")
    reset_peak()
    step()
    peak = status_mb("VmHWM:")
    cpu_before = time.process_time()
    out.append(("unet_train_step_ms", median_ms(runs, step, warmup=False)))
    out.append(("unet_train_step_cpu_ms", (time.process_time() - cpu_before) * 1e3 / runs))
    out.append(("unet_train_peak_rss_mb", peak))
    out.append(("unet_train_peak_delta_mb", peak - before))
    with torch.no_grad():
        x = torch.randn(256, 1280)
        for outputs in (1280, 10240):
            w = (torch.randn(outputs, 1280) * 0.02).half().float()
            out.append((f"linear_f16_256x{outputs}x1280_ms", median_ms(runs, lambda: F.linear(x, w))))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--swift", help="file with the name=value output of `rorem bench engine`")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}")
    results = bench(args.runs)
    for name, value in results:
        print(f"torch_{name}={value:.3f}")
    if args.swift:
        swift = {}
        with open(args.swift) as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.strip().split("=", 1)
                    try:
                        swift[k] = float(v)
                    except ValueError:
                        pass
        for name, value in results:
            if name in swift and value > 0 and name != "unet_params":
                print(f"ratio_{name}={swift[name] / value:.3f}")


if __name__ == "__main__":
    main()

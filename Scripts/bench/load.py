"""Checkpoint loading, rorem side by side with PyTorch's safetensors, on a random fp16 safetensors file.

Usage: python Scripts/bench/load.py [--file /tmp/rorem-random-5gb.safetensors] [--gb 5] [--rorem .build/debug/rorem]
  Makes the file if it is missing (SDXL-UNet-like shapes, normal(0, 0.02) weights in fp16, written streaming),
  then for each side: drops the file from the page cache (posix_fadvise DONTNEED, this file only) and loads it
  cold, then loads it again warm (rorem also cold with --prefetch: madvise WILLNEED right after opening). rorem: `rorem bench load FILE` (open, parameters built without initialisation,
  every tensor loaded as a zero-copy view, every page touched). PyTorch: safetensors.torch.load_file (copies
  into tensors; a fresh process each time). Prints name=value lines and a Markdown table.
Needs torch, numpy, safetensors.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np

SHAPES = [  # one SDXL transformer block's worth of shapes, repeated
    [1280, 1280], [1280, 1280], [1280, 1280], [1280, 1280], [1280], [1280, 2048], [1280, 2048], [10240, 1280],
    [10240], [1280, 5120], [1280], [1280], [1280], [640, 640, 3, 3], [640], [1280, 1280, 3, 3], [1280],
]


def make(path, gb):
    tensors, total, k = [], 0, 0
    while total < gb * 1e9:
        shape = SHAPES[k % len(SHAPES)]
        n = int(np.prod(shape))
        tensors.append((f"blocks.{k // len(SHAPES)}.t{k % len(SHAPES)}", shape, total, total + 2 * n))
        total += 2 * n
        k += 1
    header = {name: {"dtype": "F16", "shape": shape, "data_offsets": [a, b]} for name, shape, a, b in tensors}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    rng = np.random.default_rng(0)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, shape, a, b in tensors:
            f.write((rng.standard_normal((b - a) // 2, dtype=np.float32) * 0.02).astype("<f2").tobytes())
    os.replace(tmp, path)
    print(f"made {path}: {len(tensors)} tensors, {total / 1e9:.2f} GB", file=sys.stderr)


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


TORCH_SIDE = r"""
import resource, sys, time
t0 = time.perf_counter()
from safetensors.torch import load_file
t1 = time.perf_counter()
sd = load_file(sys.argv[1])
t2 = time.perf_counter()
s = 0
for v in sd.values():
    s += int(v.view(-1)[:: 2048].sum().item() != 0)  # touch (already resident: load_file copies)
t3 = time.perf_counter()
def status(k):
    for line in open("/proc/self/status"):
        if line.startswith(k):
            return float(line.split()[1]) / 1000
print(f"tensors={len(sd)}\nload_ms={(t2 - t1) * 1e3:.1f}\ntouch_ms={(t3 - t2) * 1e3:.1f}\ntotal_ms={(t3 - t1) * 1e3:.1f}")
print(f"rss_after_mb={status('VmRSS'):.1f}\npeak_rss_mb={status('VmHWM'):.1f}")
"""


def parse(text):
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = float(v)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default="/tmp/rorem-random-5gb.safetensors")
    ap.add_argument("--gb", type=float, default=5.0)
    ap.add_argument("--rorem", default=os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "rorem"))
    args = ap.parse_args()
    if not os.path.exists(args.file):
        make(args.file, args.gb)
    results = {}
    drop_cache(args.file)
    results[("rorem", "cold-prefetch")] = parse(subprocess.run([args.rorem, "bench", "load", "--prefetch", args.file],
                                                               check=True, capture_output=True, text=True).stdout)
    for cache in ("cold", "warm"):
        if cache == "cold":
            drop_cache(args.file)
        results[("rorem", cache)] = parse(subprocess.run([args.rorem, "bench", "load", args.file], check=True,
                                                          capture_output=True, text=True).stdout)
        if cache == "cold":
            drop_cache(args.file)
        results[("torch", cache)] = parse(subprocess.run([sys.executable, "-c", TORCH_SIDE, args.file], check=True,
                                                          capture_output=True, text=True).stdout)
    size = os.path.getsize(args.file) / 1e6
    print(f"file_mb={size:.0f}")
    for (side, cache), r in results.items():
        for k, v in r.items():
            print(f"{side}_{cache}_{k}={v:g}")
    print()
    print("| load of a random fp16 safetensors file | file MB | rorem total ms | rorem peak RSS MB | safetensors.torch total ms | its peak RSS MB | ratio (time) |")
    print("|---|---|---|---|---|---|---|")
    for cache in ("cold", "cold-prefetch", "warm"):
        r, t = results[("rorem", cache)], results[("torch", cache.split("-")[0])]
        print(f"| {cache} page cache | {size:.0f} | {r['total_ms']:.0f} | {r['peak_rss_mb']:.0f} | {t['total_ms']:.0f} | "
              f"{t['peak_rss_mb']:.0f} | {r['total_ms'] / t['total_ms']:.2f} |")


if __name__ == "__main__":
    main()

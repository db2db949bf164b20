"""The diffusion removers at full size: rorem against diffusers on the CPU, side by side in one run.

1. Writes (or reuses) a full-size random-weight SDXL-inpainting folder in fp16 safetensors and an LCM-LoRA-shaped
   random LoRA (Scripts/bench/diffusion_folder.py) under --cache.
2. Runs `rorem bench diffusion` on the folder (first, so that a failure shows before diffusers' long run), then
   times diffusers in a child process per dtype (Scripts/bench/diffusion_reference.py): one UNet step (batch 1, no
   CFG), VAE encode, VAE decode and the RORem-4S removal (LCM, 4 steps, strength 0.99, guidance 1, LoRA fused, as
   RORem's inference_RORem_4S.py), medians of --runs after a warm-up, and its peak resident set.
   Both use the same settings, dtype and thread count.
3. Prints a table of both with the ratios rorem / diffusers (below 1: rorem faster or smaller), the CPU model and
   its bf16 features, and writes diffusion.json and diffusion.md to --out (with --doc, also Docs/BENCHMARKS.md
   between the diffusion markers).

Peak memory is the child's `ru_maxrss` from wait4 for both sides (each also reports its own getrusage).
Dtype: bf16 where the CPU has avx512_bf16 or amx_bf16, fp32 elsewhere (--dtype overrides).

Usage: python Scripts/bench/diffusion.py [--runs 3] [--threads 2] [--resolution 512] [--rorem .build/release/rorem]
       python Scripts/bench/diffusion.py --tiny          # the committed tiny folder, in seconds (the unit test)
       python Scripts/bench/diffusion.py --parts encode,decode   # the VAE alone on both sides (minutes)
       python Scripts/bench/diffusion.py --rounds 2 --runs 1     # rorem, diffusers, rorem, diffusers: median ratio
       python Scripts/bench/diffusion.py --rorem-storage stored  # rorem keeps the fp16 files' weights (its default)
Needs torch, diffusers, transformers, peft, safetensors and (for the full folder's tokenizers) open_clip_torch.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TINY_FOLDER = ROOT / "Tests" / "DiffusionTests" / "Fixtures" / "tiny-sdxl-inpaint"
TINY_LORA = ROOT / "Tests" / "DiffusionTests" / "Fixtures" / "tiny-sdxl-lora" / "pytorch_lora_weights.safetensors"
BEGIN, END = "<!-- diffusion:begin -->", "<!-- diffusion:end -->"
MEASURES = ["unet_step_ms", "vae_encode_ms", "vae_decode_ms", "remove_4step_ms", "peak_rss_mb", "load_ms"]
PART_MEASURES = {"unet": "unet_step_ms", "encode": "vae_encode_ms", "decode": "vae_decode_ms", "remove": "remove_4step_ms"}
LABELS = {
    "unet_step_ms": "one UNet step (ms)",
    "vae_encode_ms": "VAE encode (ms)",
    "vae_decode_ms": "VAE decode (ms)",
    "remove_4step_ms": "RORem-4S removal, 4 steps (ms)",
    "peak_rss_mb": "peak memory, wait4 ru_maxrss (MB)",
    "load_ms": "loading the folder + fusing the LoRA (ms)",
}


def cpu_info() -> dict:
    """The CPU model and the SIMD features that decide the dtype."""
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("?", "", "x86_64"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    features = {name: name in flags for name in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")}
    return {"model": model, "cores": os.cpu_count(), "features": features}


def default_dtype(cpu: dict) -> str:
    f = cpu["features"]
    return "bf16" if f.get("avx512_bf16") or f.get("amx_bf16") else "fp32"


def run_child(cmd: list[str], log: Path, timeout: float, env: dict | None = None) -> tuple[str, float, float]:
    """Runs cmd with stdout captured and stderr appended to log; returns (stdout, peak RSS MB from wait4, wall s).
    Raises with the log's tail when the child fails."""
    with tempfile.TemporaryFile("w+") as out, open(log, "a") as err:
        err.write(f"$ {shlex.join(cmd)}\n")
        err.flush()
        started = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                _, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.2)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    if p.returncode != 0:
        tail = "".join(open(log).readlines()[-20:])
        raise RuntimeError(f"{cmd[0]} {cmd[1] if len(cmd) > 1 else ''} exited with {p.returncode}:\n{tail}")
    return text, usage.ru_maxrss / 1024, wall


def parse_rorem(text: str) -> dict:
    """`name=value` lines of `rorem bench diffusion` as numbers where they are numbers."""
    values = {}
    for line in text.splitlines():
        m = re.fullmatch(r"\s*([a-z0-9_]+)=(\S+)\s*", line)
        if not m:
            continue
        try:
            values[m.group(1)] = float(m.group(2))
        except ValueError:
            values[m.group(1)] = m.group(2)
    return values


def measures(parts: set[str]) -> list[str]:
    """The measures a run of these parts prints, in the table's order."""
    timed = {PART_MEASURES[p] for p in parts}
    return [m for m in MEASURES if m in timed or m not in PART_MEASURES.values()]


def compare(rorem: dict, reference: dict, parts: set[str] | None = None) -> list[dict]:
    """One row per measure of `parts` (default all): both values and the ratio rorem / diffusers."""
    rows = []
    for name in measures(parts if parts is not None else set(PART_MEASURES)):
        a, b = rorem.get(name), reference.get(name)
        ratio = a / b if isinstance(a, float) and isinstance(b, float) and b > 0 else None
        rows.append({"measure": name, "rorem": a, "diffusers": b, "ratio": ratio})
    return rows


def combine(rounds: list[tuple[dict, dict]], parts: set[str] | None = None) -> list[dict]:
    """Rows over alternating rounds (rorem, then diffusers, again): each side's median over the rounds, and the
    median of the per-round ratios (each ratio taken from two runs minutes apart, so a machine whose speed drifts
    over the hour moves both sides of it). One round gives `compare`'s rows."""
    per_round = [compare(a, b, parts) for a, b in rounds]
    rows = []
    for i, first in enumerate(per_round[0]):
        cells = [r[i] for r in per_round]
        def med(key):
            values = [c[key] for c in cells if isinstance(c[key], float)]
            return statistics.median(values) if values else None
        ratios = [c["ratio"] for c in cells if c["ratio"] is not None]
        rows.append({"measure": first["measure"], "rorem": med("rorem"), "diffusers": med("diffusers"),
                     "ratio": statistics.median(ratios) if ratios else None,
                     "round_ratios": ratios if len(rounds) > 1 else []})
    return rows


def _fmt(v) -> str:
    if v is None:
        return ""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def markdown(report: dict) -> str:
    cpu = report["cpu"]
    feats = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in cpu["features"].items())
    lines = [
        f"Command: `{report['command']}`  ",
        f"Machine: {cpu['model']}, {cpu['cores']} cores ({feats}); load average {report['load_before']} before, "
        f"{report['load_after']} after  ",
        f"Date: {report['date']}. Both sides on {report['threads']} threads, dtype {report['dtype']} "
        f"({report['storage']}), {report['resolution']} px, medians of {report['runs']} runs after a "
        f"warm-up{rounds_text(report)}; torch {report['versions'].get('torch', '?')}, diffusers {report['versions'].get('diffusers', '?')}. "
        f"Folder: {report['folder_kind']}.",
        "",
    ]
    several = report.get("rounds", 1) > 1
    lines += (["| measure | rorem | diffusers | ratio (rorem / diffusers) | ratio in each round |", "|---|---:|---:|---:|---|"]
              if several else ["| measure | rorem | diffusers | ratio (rorem / diffusers) |", "|---|---:|---:|---:|"])
    for row in report["rows"]:
        ratio = "" if row["ratio"] is None else f"**{row['ratio']:.2f}**" if row["measure"] != "load_ms" else f"{row['ratio']:.2f}"
        label = LABELS[row["measure"]]
        if row["measure"] == "load_ms" and not set(report.get("parts", PART_MEASURES)) & {"unet", "remove"}:
            label = "loading the VAE (ms)"
        each = f" {', '.join(f'{r:.2f}' for r in row.get('round_ratios', []))} |" if several else ""
        lines.append(f"| {label} | {_fmt(row['rorem'])} | {_fmt(row['diffusers'])} | {ratio} |{each}")
    spi = report.get("seconds_per_image", {})
    if spi:
        lines += ["", f"Seconds per image (the RORem-4S removal): rorem {spi['rorem']:.1f} s, diffusers "
                      f"{spi['diffusers']:.1f} s."]
    return "\n".join(lines) + "\n"


def rounds_text(report: dict) -> str:
    n = report.get("rounds", 1)
    return (f", in {n} rounds that alternate rorem and diffusers (values: medians over the rounds; ratio: the "
            f"median of the rounds' ratios)") if n > 1 else ""


def update_doc(doc: Path, section: str) -> None:
    """Replaces the text between the diffusion markers in doc (appends them when missing); temp file + rename."""
    block = f"{BEGIN}\n{section}{END}"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, count=1, flags=re.DOTALL)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = doc.with_name(doc.name + ".tmp-diffusion")
    tmp.write_text(text)
    tmp.replace(doc)


def commands(rorem: str, python: str, folder, lora, variant, resolution: int, runs: int, parts, threads: int,
             dtype: str, rorem_storage: str = "compute") -> tuple[list[str], list[str]]:
    """The two children's command lines: `rorem bench diffusion` and diffusion_reference.py with the same settings;
    with rorem_storage "stored", rorem gets no --dtype and keeps the folder's weights as stored."""
    common = ["--resolution", str(resolution), "--runs", str(runs), "--parts", ",".join(sorted(parts)),
              "--threads", str(threads)] + (["--variant", variant] if variant else [])
    rorem_dtype = [] if rorem_storage == "stored" else ["--dtype", dtype]
    rorem_cmd = [rorem, "bench", "diffusion", "--model", str(folder), "--lora", str(lora), *common, *rorem_dtype]
    ref_cmd = [python, str(HERE / "diffusion_reference.py"), "--folder", str(folder), "--lora", str(lora), *common,
               "--dtype", dtype]
    return rorem_cmd, ref_cmd


def loadavg() -> str:
    try:
        return ", ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="the committed tiny folder at 32 px, 1 run")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "rorem-bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1,
                        help="run rorem then diffusers this many times, alternating, and take the median ratio "
                             "(a shared machine's speed drifts by more than the ratios measured)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resolution", type=int)
    parser.add_argument("--dtype", choices=["auto", "fp32", "bf16"], default="auto")
    parser.add_argument("--rorem-storage", choices=["compute", "stored"], default="compute",
                        help="compute: rorem holds the weights in the dtype both sides compute in, as diffusers does; "
                             "stored: rorem keeps them as the folder stores them (fp16) and widens them per call, "
                             "as `rorem remove` does without --dtype (diffusers still holds them in the dtype)")
    parser.add_argument("--rorem", default=str(ROOT / ".build" / "release" / "rorem"))
    parser.add_argument("--python", default=sys.executable, help="the interpreter for diffusers' child")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "diffusion")
    parser.add_argument("--doc", type=Path, help="also write the table into this Markdown file (Docs/BENCHMARKS.md)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds each side may take")
    parser.add_argument("--parts", default="unet,encode,decode,remove",
                        help="comma-separated parts to time: unet, encode, decode, remove (encode,decode loads only the VAE)")
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not parts or parts - set(PART_MEASURES):
        parser.error(f"--parts: unknown or no parts {sorted(parts - set(PART_MEASURES))} (unet, encode, decode, remove)")

    cpu = cpu_info()
    dtype = default_dtype(cpu) if args.dtype == "auto" else args.dtype
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "diffusion.log"
    log.write_text("")
    if args.tiny:
        folder, lora, variant, resolution, runs = TINY_FOLDER, TINY_LORA, None, args.resolution or 32, 1
        kind = "the committed tiny random folder (Tests/DiffusionTests/Fixtures/tiny-sdxl-inpaint)"
    else:
        sys.path.insert(0, str(HERE))
        from diffusion_folder import ensure

        folder, lora = ensure(args.cache, log=lambda m: print(f"diffusion: {m}", file=sys.stderr))
        variant, resolution, runs = "fp16", args.resolution or 512, args.runs
        kind = ("full-size SDXL-inpainting architecture with random weights (UNet 2,567,478,084 parameters, "
                "LCM-LoRA-shaped random LoRA of rank 64)")
    if not Path(args.rorem).exists():
        sys.exit(f"diffusion: no rorem binary at {args.rorem} (swift build -c release, or --rorem PATH)")
    load_before = loadavg()
    rorem_cmd, ref_cmd = commands(args.rorem, args.python, folder, lora, variant, resolution, runs, parts,
                                  args.threads, dtype, args.rorem_storage)
    rounds, walls = [], []
    for i in range(max(1, args.rounds)):
        label = f" (round {i + 1} of {args.rounds})" if args.rounds > 1 else ""
        print(f"diffusion: rorem{label} ...", file=sys.stderr, flush=True)
        text, rorem_peak, rorem_wall = run_child(rorem_cmd, log, args.timeout)
        rorem = parse_rorem(text)
        missing = [m for m in measures(parts) if not isinstance(rorem.get(m), float)]
        if missing:
            sys.exit(f"diffusion: rorem bench diffusion did not print {', '.join(missing)}:\n{text}")
        rorem["peak_rss_self_mb"] = rorem["peak_rss_mb"]
        rorem["peak_rss_mb"] = rorem_peak

        print(f"diffusion: diffusers ({dtype}, {args.threads} threads){label} ...", file=sys.stderr, flush=True)
        text, ref_peak, ref_wall = run_child(ref_cmd, log, args.timeout)
        reference = json.loads(text.strip().splitlines()[-1])
        reference["peak_rss_self_mb"] = reference["peak_rss_mb"]
        reference["peak_rss_mb"] = ref_peak
        rounds.append((rorem, reference))
        walls.append({"rorem": rorem_wall, "diffusers": ref_wall})
    rows = combine(rounds, parts)
    value = {row["measure"]: row for row in rows}

    launcher = os.environ.get("BENCH_LAUNCHER", "python Scripts/bench/diffusion.py")
    shown = [a for a in (argv if argv is not None else sys.argv[1:])]
    report = {
        "command": " ".join([launcher, *shown]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "dtype": dtype, "threads": args.threads, "resolution": resolution, "runs": runs,
        "folder": str(folder), "lora": str(lora), "folder_kind": kind,
        "storage": ("weights stored fp16 in the folder" if variant == "fp16" else "weights stored fp32 in the folder")
                   + ("; rorem keeps them as stored and widens them per call" if args.rorem_storage == "stored" else ""),
        "load_before": load_before, "load_after": loadavg(),
        "versions": rounds[-1][1].get("versions", {}),
        "rounds": len(rounds),
        "rorem": [a for a, _ in rounds], "diffusers": [b for _, b in rounds],
        "wall_s": walls,
        "parts": sorted(parts),
        "rows": rows,
        "seconds_per_image": ({"rorem": value["remove_4step_ms"]["rorem"] / 1e3,
                               "diffusers": value["remove_4step_ms"]["diffusers"] / 1e3}
                              if "remove" in parts else {}),
    }
    md = markdown(report)
    (args.out / "diffusion.json").write_text(json.dumps(report, indent=2))
    (args.out / "diffusion.md").write_text(md)
    if args.doc:
        update_doc(args.doc, md)
    print(md)
    return report


if __name__ == "__main__":
    main()

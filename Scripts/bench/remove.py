#!/usr/bin/env python3
"""Object-removal benchmark: rorem's removers against OpenCV's cv2.inpaint and pypatchmatch.

Builds seeded cases from real photos (a pasted object with known ground truth), runs every method
on every case, scores all outputs with the same masked PSNR / SSIM / L1 code, times each method
(warm-up, then --runs calls, median), and writes:
  OUT/cases/<case>/{source,mask,gt}.png   the inputs (rorem reads these)
  OUT/results/<case>/<method>.png         each method's output
  OUT/sheets/<case>.png                   a contact sheet per case
  OUT/remove-results.json                 every number, plus machine and command
  Docs/BENCHMARKS.md                      the section between <!-- remove:begin/end --> markers

Usage: python3 Scripts/bench/remove.py [--cases 6] [--runs 5] [--rorem PATH] [--out bench-out]
(Scripts/bench/run sets up .venv with Scripts/requirements-bench.txt first, then calls this.)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

try:
    import cv2
    import numpy as np
except ImportError as missing:
    sys.exit(f"remove.py: {missing}; run Scripts/bench/run, or Scripts/python-env.sh then .venv/bin/python")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases import DEFAULT_PHOTOS, Case, make_cases  # noqa: E402
from images import write_rgb  # noqa: E402
from methods import ALL_METHODS, ROREM_METHODS, changed_outside_mask, run_reference, run_rorem  # noqa: E402
from metrics import all_metrics  # noqa: E402
from report import check_goals, markdown, summarize, update_doc  # noqa: E402
from sheet import write_contact_sheet  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=int, default=6, help="number of cases (default 6)")
    p.add_argument("--runs", type=int, default=5, help="timed runs per method and case, after a warm-up (default 5)")
    p.add_argument("--rorem", type=Path, default=ROOT / ".build/release/rorem", help="rorem CLI binary")
    p.add_argument("--out", type=Path, default=ROOT / "bench-out", help="output folder (default bench-out)")
    p.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder of photos to build cases from")
    p.add_argument("--size", type=int, default=1024, help="long side of the cases in pixels (default 1024)")
    p.add_argument("--seed", type=int, default=7, help="seed of the case construction (default 7)")
    p.add_argument("--methods", default=",".join(ALL_METHODS), help="comma-separated methods to run")
    p.add_argument("--rorem-opt", action="append", default=[], metavar="METHOD:KEY=VALUE",
                   help="pass --opt KEY=VALUE to one rorem method, e.g. patchmatch:iterations=8 (repeatable)")
    p.add_argument("--doc", type=Path, default=ROOT / "Docs/BENCHMARKS.md", help="Markdown file to update")
    p.add_argument("--no-doc", action="store_true", help="do not update the Markdown file")
    args = p.parse_args(argv)
    if args.cases < 1 or args.runs < 1 or args.size < 64:
        p.error("--cases and --runs must be at least 1 and --size at least 64")
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.rorem_options = {name: [] for name in ROREM_METHODS.values()}
    for spec in args.rorem_opt:
        name, _, option = spec.partition(":")
        if name not in args.rorem_options or "=" not in option:
            p.error(f"--rorem-opt {spec!r}: expected METHOD:KEY=VALUE with METHOD one of "
                    f"{', '.join(args.rorem_options)}")
        args.rorem_options[name].append(option)
    unknown = [m for m in args.methods if m not in ALL_METHODS]
    if unknown:
        p.error(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(ALL_METHODS)}")
    return args


def machine() -> str:
    """CPU model from /proc/cpuinfo, core count, OS and load average (other work skews the times)."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}; load average {load} at the end"


def versions() -> str:
    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}", f"opencv {cv2.__version__}"]
    try:
        import patchmatch

        parts.append(f"pypatchmatch {patchmatch.__version__}")
    except ImportError:
        parts.append("pypatchmatch missing")
    return ", ".join(parts)


def command_line(argv: list[str]) -> str:
    """The command as a person would type it from the repository root."""
    launcher = os.environ.get("BENCH_LAUNCHER")
    if launcher:
        return " ".join([launcher] + [shlex.quote(a) for a in argv])
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return " ".join(["python3", str(shown)] + [shlex.quote(a) for a in argv])


def log(message: str) -> None:
    print(message, flush=True)


def measure(method: str, case: Case, case_dir: Path, result_path: Path,
            args: argparse.Namespace) -> tuple[dict, np.ndarray | None]:
    """Run one method on one case, score it, log a line; return its JSON entry and output (None if missing)."""
    if method in ROREM_METHODS:
        options = args.rorem_options[ROREM_METHODS[method]]
        result = run_rorem(method, case, case_dir, result_path, args.rorem.resolve(), args.runs, options)
    else:
        result = run_reference(method, case, args.runs)
        if result.output is not None:
            write_rgb(result_path, result.output)
    entry: dict = {"median_ms": result.median_ms, "times_ms": result.times_ms, "error": result.error,
                   "cpu_per_wall": result.cpu_per_wall}
    if result.error is not None:
        entry["median_ms"] = None
        log(f"  {method:17s} missing: {result.error}")
        return entry, None
    entry.update(all_metrics(result.output, case.gt, case.mask))
    entry["changed_outside_mask"] = changed_outside_mask(result.output, case)
    log(f"  {method:17s} PSNR {entry['psnr']:6.2f} dB  SSIM {entry['ssim']:.4f}  "
        f"L1 {entry['l1']:.4f}  {result.median_ms:9.1f} ms")
    return entry, result.output


def run(args: argparse.Namespace, argv: list[str]) -> int:
    out = args.out.resolve()
    cases_dir, results_dir, sheets_dir = out / "cases", out / "results", out / "sheets"
    log(f"building {args.cases} cases at {args.size} px from {args.photos} (seed {args.seed})")
    cases = make_cases(args.cases, args.photos, args.seed, args.size)
    rows: dict[str, dict[str, dict]] = {}
    metas: dict[str, dict] = {}
    for case in cases:
        case_dir = case.write(cases_dir)
        case_results = results_dir / case.name
        case_results.mkdir(parents=True, exist_ok=True)
        metas[case.name] = case.meta
        rows[case.name] = {}
        outputs = {}
        log(f"{case.name}: {case.meta['photo']} + {case.meta['outline']} from {case.meta['donor']}, "
            f"mask {100 * case.meta['mask_fraction']:.1f}%")
        for method in args.methods:
            entry, output = measure(method, case, case_dir, case_results / f"{method}.png", args)
            rows[case.name][method] = entry
            outputs[method] = output
        sheets_dir.mkdir(parents=True, exist_ok=True)
        write_contact_sheet(sheets_dir / f"{case.name}.png", case, outputs)

    info = {
        "command": command_line(argv),
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions(),
    }
    summary = summarize(rows, args.methods)
    goals = check_goals(summary)
    payload = {"info": info, "cases": metas, "results": rows, "summary": summary, "goals": goals}
    json_path = out / "remove-results.json"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    section = markdown(rows, metas, args.methods, info)
    if not args.no_doc:
        update_doc(args.doc, section)
        log(f"updated {args.doc}")
    log(f"wrote {json_path} and contact sheets in {sheets_dir}")
    log("")
    log(section.split("### Per case")[0].rstrip())
    return 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        return run(args, argv)
    except (FileNotFoundError, ValueError, OSError) as error:
        print(f"remove.py: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

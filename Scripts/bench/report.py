"""Summaries, goal checks and the Markdown section of the object-removal benchmark.

Input is `rows`: for each case name, for each method, a dict with psnr, ssim, l1 (floats),
median_ms (float or None) and error (str or None). Overall numbers are medians over the cases
where the method produced a result; time ratios are medians over cases of the per-case ratio
(method time / reference time on the same case in the same run).
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path

BEGIN, END = "<!-- remove:begin -->", "<!-- remove:end -->"
DOC_TITLE = "# Benchmarks\n"

# method -> reference whose time it is compared with
TIME_REFERENCE = {"rorem-telea": "opencv-telea", "rorem-patchmatch": "pypatchmatch"}
TELEA_TIME_GOAL = 1.5
PATCHMATCH_TIME_GOAL = 1.0

DEFINITIONS = """\
- **Cases**: real photos resized to 1024 px on the long side; the ground truth is the photo, the
  source has a region of *another* photo pasted in with an ellipse or smooth-blob outline and a soft
  1.5 px edge, covering 2-8% of the image, away from the border. The mask is the object's support
  dilated by 4 px (binary, 255 = remove). Built deterministically from a seed (`Scripts/bench/cases.py`).
- **Metrics** (`Scripts/bench/metrics.py`), on images scaled to [0, 1], over masked pixels only, the
  same code for every method (rorem's results are read back from PNG):
  masked PSNR = 10 log10(1 / MSE), MSE averaged over masked pixels and the 3 channels (peak 1.0);
  masked SSIM = SSIM map per channel over the whole image (Gaussian 11x11 window, sigma 1.5, borders
  reflected, C1 = 0.01^2, C2 = 0.03^2), averaged over masked pixels, then channels;
  masked L1 = mean absolute error over masked pixels and channels.
- **Time**: median of `--runs` calls after one warm-up, in process, image decode/encode excluded.
  OpenCV (`cv2.inpaint`, radius 3) runs with `cv2.setNumThreads(2)`; pypatchmatch (patch_size 3)
  is single-threaded; rorem's time is the `median_ms` that `rorem bench remove` prints.
- **Settings**: rorem's removers run with their defaults (`--method telea`: radius 3;
  `--method patchmatch`: `patch` 7) unless the command passes `--rorem-opt`. pypatchmatch's
  `patch_size` is a patch *radius*, so patch_size 3 compares 7x7 patches, the same size as rorem's
  default `patch` 7 (a side).
- **Cores busy**: CPU seconds per wall second over the timed calls (for rorem, over its whole
  `bench` process), median over cases: about how many of the machine's cores a method used.
- **Overall**: median over cases of each metric and of each method's median time. A time ratio is
  the median over cases of (method time / reference time) on the same case in the same run."""


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else None


def summarize(rows: dict[str, dict[str, dict]], methods: list[str]) -> dict[str, dict]:
    """Median over cases of each metric, time and time ratio, per method; plus the case count."""
    summary = {}
    for method in methods:
        entries = [rows[case][method] for case in rows if method in rows[case]]
        ok = [e for e in entries if e.get("error") is None]
        entry = {key: _median([e.get(key) for e in ok]) for key in ("psnr", "ssim", "l1", "median_ms", "cpu_per_wall")}
        entry["cases"] = len(ok)
        entry["errors"] = sorted({e["error"] for e in entries if e.get("error")})
        reference = TIME_REFERENCE.get(method)
        if reference is not None:
            ratios = []
            for case in rows:
                mine, ref = rows[case].get(method, {}), rows[case].get(reference, {})
                if mine.get("median_ms") and ref.get("median_ms") and not mine.get("error") and not ref.get("error"):
                    ratios.append(mine["median_ms"] / ref["median_ms"])
            entry["time_ratio"] = _median(ratios)
            entry["time_reference"] = reference
        summary[method] = entry
    return summary


def _status(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def check_goals(summary: dict[str, dict]) -> list[dict]:
    """The issue's goals as a list of {goal, status (True/False/None), detail}."""
    def get(method: str, key: str) -> float | None:
        return summary.get(method, {}).get(key)

    goals = []
    for key, label in (("psnr", "masked PSNR"), ("ssim", "masked SSIM")):
        best_name, best = max(((m, get(m, key)) for m in ("opencv-telea", "opencv-ns")),
                              key=lambda mv: -math.inf if mv[1] is None else mv[1])
        mine = get("rorem-patchmatch", key)
        ok = None if mine is None or best is None else mine >= best
        goals.append({"goal": f"rorem patchmatch {label} >= OpenCV's best", "status": ok,
                      "detail": f"rorem-patchmatch {_fmt(mine, 4)} vs {best_name} {_fmt(best, 4)}"})
    ratio = get("rorem-telea", "time_ratio")
    goals.append({"goal": f"rorem telea time <= {TELEA_TIME_GOAL}x OpenCV Telea", "status":
                  None if ratio is None else ratio <= TELEA_TIME_GOAL, "detail": _ratio_detail(ratio)})
    ratio = get("rorem-patchmatch", "time_ratio")
    goals.append({"goal": "rorem patchmatch time <= pypatchmatch (patch_size 3)", "status":
                  None if ratio is None else ratio <= PATCHMATCH_TIME_GOAL, "detail": _ratio_detail(ratio)})
    for key, label in (("psnr", "masked PSNR"), ("ssim", "masked SSIM")):
        mine, ref = get("rorem-patchmatch", key), get("pypatchmatch", key)
        ok = None if mine is None or ref is None else mine > ref
        goals.append({"goal": f"rorem patchmatch {label} > pypatchmatch", "status": ok,
                      "detail": f"rorem-patchmatch {_fmt(mine, 4)} vs pypatchmatch {_fmt(ref, 4)}"})
    return goals


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _ratio_detail(ratio: float | None) -> str:
    return "no ratio: a method is missing" if ratio is None else f"median ratio {ratio:.2f}x"


def _outside_mask_note(rows: dict[str, dict[str, dict]], methods: list[str]) -> str:
    """A sentence naming methods that changed pixels outside the mask (a remover should not)."""
    offenders = []
    for method in methods:
        counts = [rows[c][method].get("changed_outside_mask", 0) for c in rows if method in rows[c]]
        if any(counts):
            offenders.append(f"{method} (up to {max(counts)} px)")
    if not offenders:
        return "No method changed pixels outside the mask."
    return "Changed pixels outside the mask (not scored, but a remover should not): " + ", ".join(offenders) + "."


def _method_table(entries: list[tuple[str, dict]], show_ratio: bool) -> list[str]:
    head = "| method | masked PSNR (dB) | masked SSIM | masked L1 | median time (ms) |"
    rule = "|---|---:|---:|---:|---:|"
    if show_ratio:
        head += " time vs reference | cores busy |"
        rule += "---|---:|"
    lines = [head, rule]
    for method, e in entries:
        if e.get("error") or (show_ratio and e.get("cases") == 0):
            reason = e.get("error") or "; ".join(e.get("errors", [])) or "no result"
            lines.append(f"| {method} | missing: {reason} |" + " |" * (5 if show_ratio else 3))
            continue
        row = (f"| {method} | {_fmt(e.get('psnr'), 2)} | {_fmt(e.get('ssim'), 4)} | {_fmt(e.get('l1'), 4)} "
               f"| {_fmt(e.get('median_ms'), 1)} |")
        if show_ratio:
            ratio = e.get("time_ratio")
            row += f" {_fmt(ratio, 2)}x {e['time_reference']} |" if ratio is not None else " |"
            row += f" {_fmt(e.get('cpu_per_wall'), 1)} |"
        lines.append(row)
    return lines


def markdown(rows: dict[str, dict[str, dict]], metas: dict[str, dict], methods: list[str], info: dict) -> str:
    """The section body (without markers) for Docs/BENCHMARKS.md."""
    summary = summarize(rows, methods)
    lines = ["## Object removal: rorem vs OpenCV and pypatchmatch", "",
             f"Command: `{info['command']}`  ", f"Machine: {info['machine']}  ", f"Date: {info['date']}  ",
             f"Versions: {info['versions']}", "", "### Goals", ""]
    for goal in check_goals(summary):
        lines.append(f"- {goal['goal']}: {_status(goal['status'])} ({goal['detail']})")
    lines += ["", f"### Overall (median over {len(rows)} cases)", ""]
    lines += _method_table([(m, summary[m]) for m in methods], show_ratio=True)
    lines += ["", _outside_mask_note(rows, methods)]
    lines += ["", "### Per case", ""]
    for case, by_method in rows.items():
        meta = metas[case]
        size, outline = f"{meta['size'][0]}x{meta['size'][1]}", meta["outline"]
        lines.append(f"**{case}**: {size}, {meta['photo']} with {_article(outline)} {outline} from {meta['donor']}, "
                     f"mask {100 * meta['mask_fraction']:.1f}% of the image")
        lines += [""] + _method_table([(m, by_method[m]) for m in methods if m in by_method], show_ratio=False) + [""]
    lines += ["### How it is measured", "", DEFINITIONS]
    return "\n".join(lines) + "\n"


def update_doc(doc: Path, section: str) -> None:
    """Replace the text between the remove markers in doc (create the file or markers if missing)."""
    block = f"{BEGIN}\n{section}{END}"
    text = doc.read_text() if doc.exists() else DOC_TITLE
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    tmp = doc.with_name(doc.name + ".tmp-remove")
    tmp.write_text(text)
    tmp.replace(doc)

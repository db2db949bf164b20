"""The removers the benchmark compares, each behind one small interface.

Reference methods run in this process (OpenCV's cv2.inpaint and pypatchmatch); rorem's removers run
through its CLI: `rorem remove` writes the result image and `rorem bench remove` reports an
in-process median time. Python methods are timed the same way: one warm-up call, then `runs` timed
calls on arrays already in memory (no decoding or encoding), and the median is reported.
A method that cannot run (package or binary missing, a crash, a bad output) gives a result with
`error` set instead of raising, so the other methods are still reported.
"""

from __future__ import annotations

import re
import resource
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from cases import Case
from images import read_rgb

OPENCV_THREADS = 2
INPAINT_RADIUS = 3
PATCH_SIZE = 3
PATCHMATCH_SEED = 0
ROREM_TIMEOUT_S = 600

REFERENCE_METHODS = ["opencv-telea", "opencv-ns", "pypatchmatch"]
ROREM_METHODS = {"rorem-telea": "telea", "rorem-patchmatch": "patchmatch"}
ALL_METHODS = REFERENCE_METHODS + list(ROREM_METHODS)


@dataclass
class MethodResult:
    """What one method produced on one case: the output image and its times, or why it is missing."""

    method: str
    output: np.ndarray | None = None  # (H, W, 3) uint8 RGB
    median_ms: float | None = None
    times_ms: list[float] = field(default_factory=list)
    error: str | None = None
    cpu_per_wall: float | None = None  # CPU seconds per wall second while timed: about the cores kept busy


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def time_python(fn: Callable[[], np.ndarray], runs: int) -> tuple[np.ndarray, list[float], float]:
    """Call fn once to warm up (its output is kept), then `runs` times timed.

    Returns the output, the times in ms, and the CPU seconds per wall second over the timed calls.
    """
    output = fn()
    times = []
    cpu0 = _cpu_seconds(resource.RUSAGE_SELF)
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu0
    return output, times, cpu / max(1e-9, sum(times) / 1000.0)


def _opencv(flag: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def run(source: np.ndarray, mask_u8: np.ndarray) -> np.ndarray:
        return cv2.inpaint(source, mask_u8, INPAINT_RADIUS, flag)

    return run


def _pypatchmatch() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import patchmatch  # imported late: a missing package marks only this method missing

    if not patchmatch.patchmatch_available:
        raise RuntimeError("pypatchmatch is installed but its native library did not load")
    patchmatch.set_random_seed(PATCHMATCH_SEED)

    def run(source: np.ndarray, mask_u8: np.ndarray) -> np.ndarray:
        return patchmatch.inpaint(source, mask_u8, patch_size=PATCH_SIZE)

    return run


def reference_runner(method: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The in-process function (source RGB (H, W, 3) u8, mask (H, W) u8 255=hole) -> RGB for a method."""
    cv2.setNumThreads(OPENCV_THREADS)
    if method == "opencv-telea":
        return _opencv(cv2.INPAINT_TELEA)
    if method == "opencv-ns":
        return _opencv(cv2.INPAINT_NS)
    if method == "pypatchmatch":
        return _pypatchmatch()
    raise ValueError(f"methods: unknown reference method {method!r} (known: {', '.join(REFERENCE_METHODS)})")


def run_reference(method: str, case: Case, runs: int) -> MethodResult:
    """Run a reference method on a case in process; errors become a MethodResult with `error`."""
    try:
        fn = reference_runner(method)
        mask_u8 = np.where(case.mask, 255, 0).astype(np.uint8)  # (H, W)
        output, times, cpu_per_wall = time_python(lambda: fn(case.source, mask_u8), runs)
    except Exception as error:  # a reference that fails must not stop the others
        return MethodResult(method, error=f"{type(error).__name__}: {error}")
    result = MethodResult(method, output=output, times_ms=times, median_ms=statistics.median(times),
                          cpu_per_wall=cpu_per_wall)
    return _checked(result, case)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _run_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=ROREM_TIMEOUT_S, check=False)


def run_rorem(method: str, case: Case, case_dir: Path, result_path: Path, binary: Path, runs: int,
              options: list[str] | None = None) -> MethodResult:
    """Run one of rorem's removers through its CLI on the case files in case_dir.

    `options` are KEY=VALUE method options passed on as `--opt KEY=VALUE` (none: the defaults).
    """
    if method not in ROREM_METHODS:
        raise ValueError(f"methods: unknown rorem method {method!r} (known: {', '.join(ROREM_METHODS)})")
    if not binary.is_file():
        return MethodResult(method, error=f"rorem binary not found at {binary}")
    name = ROREM_METHODS[method]
    src, mask = str(case_dir / "source.png"), str(case_dir / "mask.png")
    extra = [arg for option in options or [] for arg in ("--opt", option)]
    try:
        done = _run_cli([str(binary), "remove", src, "--mask", mask, "-o", str(result_path), "--method", name, *extra])
        if done.returncode != 0:
            return MethodResult(method, error=f"rorem remove exited {done.returncode}: {_last_line(done.stderr)}")
        output = read_rgb(result_path)
        cpu0, wall0 = _cpu_seconds(resource.RUSAGE_CHILDREN), time.perf_counter()
        done = _run_cli([str(binary), "bench", "remove", src, "--mask", mask, "--method", name,
                         "--runs", str(runs), *extra])
        # whole process (decode and warm-up too): a rough measure of the cores it keeps busy
        cpu_per_wall = (_cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0) / max(1e-9, time.perf_counter() - wall0)
        if done.returncode != 0:
            return MethodResult(method, output=output,
                                error=f"rorem bench exited {done.returncode}: {_last_line(done.stderr)}")
        found = re.search(r"median_ms=([0-9.eE+-]+)", done.stdout)
        if found is None:
            return MethodResult(method, output=output,
                                error=f"rorem bench printed no median_ms= line: {_last_line(done.stdout)}")
        median = float(found.group(1))
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        return MethodResult(method, error=f"{type(error).__name__}: {error}")
    return _checked(MethodResult(method, output=output, median_ms=median, cpu_per_wall=cpu_per_wall), case)


def _checked(result: MethodResult, case: Case) -> MethodResult:
    """Turn an output of the wrong shape into an error, and note changes outside the mask."""
    if result.output is None:
        return result
    if result.output.shape != case.source.shape:
        result.error = f"output shape {result.output.shape} differs from the source's {case.source.shape}"
        result.output = None
    return result


def changed_outside_mask(output: np.ndarray, case: Case) -> int:
    """How many pixels outside the mask differ from the source (a remover should change none)."""
    diff = np.any(output != case.source, axis=2) & ~case.mask  # (H, W)
    return int(diff.sum())

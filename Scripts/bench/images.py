"""Image and mask files for the benchmark: RGB uint8 arrays in, PNG files out (OpenCV codecs)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_rgb(path: Path) -> np.ndarray:
    """Read a colour image as RGB uint8 (H, W, 3); raise FileNotFoundError naming the path."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    """Write RGB uint8 (H, W, 3) as PNG; raise OSError naming the path on failure."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write image {path}")


def read_mask(path: Path) -> np.ndarray:
    """Read a mask PNG as bool (H, W): True where the pixel is >= 128 (to be removed)."""
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise FileNotFoundError(f"cannot read mask {path}")
    return gray >= 128


def write_mask(path: Path, mask: np.ndarray) -> None:
    """Write a bool mask (H, W) as a binary 8-bit PNG, 255 = remove."""
    if not cv2.imwrite(str(path), np.where(mask, 255, 0).astype(np.uint8)):
        raise OSError(f"cannot write mask {path}")


def resize_long_side(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """Resize (H, W, 3) so that max(H, W) == long_side, keeping the aspect (area filter to shrink)."""
    h, w = rgb.shape[:2]
    scale = long_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # cv2 takes (width, height)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, size, interpolation=interp)

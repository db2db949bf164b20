"""Contact sheets: one PNG per case with source, mask, ground truth and each method's result.

Columns are the images; the top row shows each whole image, the bottom row a zoom on the masked
region (its bounding box grown by half on each side), so fill quality can be judged by eye.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from cases import Case
from images import write_rgb

TILE_WIDTH = 256
LABEL_HEIGHT = 22
GAP = 4


def mask_bbox(mask: np.ndarray, grow: float = 0.5) -> tuple[int, int, int, int]:
    """Bounding box (y0, y1, x0, x1) of a bool mask (H, W), grown by `grow` of its size per side."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        h, w = mask.shape
        return 0, h, 0, w
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    gy, gx = int((y1 - y0) * grow), int((x1 - x0) * grow)
    h, w = mask.shape
    return max(0, y0 - gy), min(h, y1 + gy), max(0, x0 - gx), min(w, x1 + gx)


def _fit(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale (h, w, 3) to fit inside width x height, centred on a dark tile of that size."""
    h, w = rgb.shape[:2]
    scale = min(width / w, height / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    small = cv2.resize(rgb, size, interpolation=interp)
    tile = np.full((height, width, 3), 32, np.uint8)
    oy, ox = (height - size[1]) // 2, (width - size[0]) // 2
    tile[oy : oy + size[1], ox : ox + size[0]] = small
    return tile


def _label(text: str, width: int) -> np.ndarray:
    band = np.full((LABEL_HEIGHT, width, 3), 240, np.uint8)
    cv2.putText(band, text, (4, LABEL_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return band


def _mask_overlay(case: Case) -> np.ndarray:
    """The source with the mask tinted red, (H, W, 3) uint8."""
    out = case.source.astype(np.float32)
    red = np.array([255, 0, 0], np.float32)
    out[case.mask] = 0.5 * out[case.mask] + 0.5 * red
    return out.astype(np.uint8)


def contact_sheet(case: Case, outputs: dict[str, np.ndarray | None]) -> np.ndarray:
    """Build the sheet for a case; outputs maps method name to its RGB result or None if missing."""
    columns = [("source", case.source), ("mask", _mask_overlay(case)), ("ground truth", case.gt)]
    columns += list(outputs.items())
    h, w = case.source.shape[:2]
    full_h = round(TILE_WIDTH * h / w)
    y0, y1, x0, x1 = mask_bbox(case.mask)
    crop_h = min(TILE_WIDTH, round(TILE_WIDTH * (y1 - y0) / max(1, x1 - x0)))
    tiles = []
    for label, image in columns:
        if image is None:
            body = np.full((full_h + GAP + crop_h, TILE_WIDTH, 3), 96, np.uint8)
            cv2.putText(body, "missing", (8, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        else:
            full = _fit(image, TILE_WIDTH, full_h)
            crop = _fit(image[y0:y1, x0:x1], TILE_WIDTH, crop_h)
            body = np.concatenate([full, np.full((GAP, TILE_WIDTH, 3), 255, np.uint8), crop], axis=0)
        tiles.append(np.concatenate([_label(label, TILE_WIDTH), body], axis=0))
        tiles.append(np.full((tiles[-1].shape[0], GAP, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], axis=1)


def write_contact_sheet(path: Path, case: Case, outputs: dict[str, np.ndarray | None]) -> None:
    """Write the contact sheet of a case as PNG."""
    write_rgb(path, contact_sheet(case, outputs))

"""Deterministic benchmark cases: real photos with a pasted "object" and known ground truth.

A case is built from two different photos, both resized to `long_side` pixels on the long side:
- gt.png      the background photo itself (what a perfect remover returns);
- source.png  the photo with an object pasted in: a region cut from the other photo, with a
              star-shaped outline (an ellipse or a smooth random blob) and a soft edge of about
              1.5 px, covering 2-8% of the image, at a random position away from the border;
- mask.png    the object's support (alpha > 0) dilated by 4 px, binary, 255 = remove.
Everything random comes from numpy's PCG64 seeded with (seed, case index), so the same arguments
give the same files on every machine with the same photos and OpenCV.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from images import read_rgb, resize_long_side, write_mask, write_rgb

DEFAULT_PHOTOS = Path("/usr/share/backgrounds/mate/nature")
AREA_RANGE = (0.02, 0.08)  # object area as a fraction of the image
EDGE_WIDTH = 1.5  # px over which the object's alpha falls from 1 to 0
MASK_DILATION = 4  # px the mask extends past the object's support
BORDER_FRACTION = 0.06  # keep the mask this fraction of the short side away from the border
ANGLES = 720  # samples of the outline's radius function


@dataclass
class Case:
    """One benchmark case: arrays plus the facts needed to describe it."""

    name: str
    source: np.ndarray  # (H, W, 3) uint8 RGB, photo with the pasted object
    mask: np.ndarray  # (H, W) bool, True = remove
    gt: np.ndarray  # (H, W, 3) uint8 RGB, the photo without the object
    meta: dict = field(default_factory=dict)

    def write(self, folder: Path) -> Path:
        """Write source.png, mask.png, gt.png and case.json into folder/name; return that folder."""
        path = folder / self.name
        path.mkdir(parents=True, exist_ok=True)
        write_rgb(path / "source.png", self.source)
        write_mask(path / "mask.png", self.mask)
        write_rgb(path / "gt.png", self.gt)
        (path / "case.json").write_text(json.dumps(self.meta, indent=2) + "\n")
        return path


def list_photos(folder: Path) -> list[Path]:
    """The JPEG and PNG photos in folder, sorted by name; raise FileNotFoundError if under two."""
    photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if len(photos) < 2:
        raise FileNotFoundError(
            f"cases: need at least 2 photos in {folder}, found {len(photos)} "
            "(Debian package mate-backgrounds provides /usr/share/backgrounds/mate/nature)"
        )
    return photos


def outline_radius(rng: np.random.Generator, kind: str) -> np.ndarray:
    """Radius function g(theta) of a star-shaped outline at ANGLES angles, unscaled; shape (ANGLES,)."""
    theta = np.linspace(0, 2 * math.pi, ANGLES, endpoint=False)
    if kind == "ellipse":
        aspect = rng.uniform(1.0, 2.2)
        phi = rng.uniform(0, math.pi)
        c, s = np.cos(theta - phi), np.sin(theta - phi)
        return 1.0 / np.sqrt((c / aspect) ** 2 + s**2)
    if kind == "blob":
        log_r = np.zeros_like(theta)
        for k in range(2, 6):
            log_r += rng.uniform(-1, 1) * (0.35 / k) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
        return np.exp(log_r)
    raise ValueError(f"cases: unknown outline kind {kind!r} (expected 'ellipse' or 'blob')")


def object_alpha(shape: tuple[int, int], center: tuple[float, float], radius: np.ndarray) -> np.ndarray:
    """Soft alpha (H, W) float in [0, 1] of a star-shaped outline with radius function `radius`."""
    h, w = shape
    cy, cx = center
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)  # (H, W) each
    dy, dx = ys - cy, xs - cx
    rho = np.hypot(dx, dy)
    theta = np.mod(np.arctan2(dy, dx), 2 * math.pi)
    # linear interpolation of the sampled radius function, wrapping around 2*pi
    pos = theta / (2 * math.pi) * len(radius)
    i0 = np.floor(pos).astype(int) % len(radius)
    i1 = (i0 + 1) % len(radius)
    t = pos - np.floor(pos)
    r = radius[i0] * (1 - t) + radius[i1] * t
    return np.clip((r - rho) / EDGE_WIDTH + 0.5, 0.0, 1.0)


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Dilate a bool mask (H, W) by a disk of the given radius in pixels."""
    size = 2 * pixels + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def make_case(index: int, photos: list[Path], seed: int, long_side: int) -> Case:
    """Build case `index` (0-based) deterministically from (seed, index)."""
    rng = np.random.default_rng([seed, index])
    order = np.random.default_rng(seed).permutation(len(photos))
    bg_slot = index % len(photos)
    donor_slot = (bg_slot + 1 + int(rng.integers(len(photos) - 1))) % len(photos)
    bg_path, donor_path = photos[order[bg_slot]], photos[order[donor_slot]]
    gt = resize_long_side(read_rgb(bg_path), long_side)  # (H, W, 3)
    donor = resize_long_side(read_rgb(donor_path), long_side)  # (H', W', 3)
    h, w = gt.shape[:2]

    kind = "ellipse" if rng.uniform() < 0.5 else "blob"
    g = outline_radius(rng, kind)
    area = rng.uniform(*AREA_RANGE) * h * w
    scale = math.sqrt(area / (0.5 * np.mean(g**2) * 2 * math.pi))  # area of r = scale*g is scale^2/2 * integral g^2
    radius = scale * g
    reach = float(radius.max()) + MASK_DILATION + 1
    margin = BORDER_FRACTION * min(h, w)
    lo_y, hi_y = reach + margin, h - reach - margin
    lo_x, hi_x = reach + margin, w - reach - margin
    if lo_y > hi_y or lo_x > hi_x:
        raise ValueError(f"cases: object of radius {reach:.0f} px does not fit {w}x{h} image {bg_path.name}")
    cy, cx = rng.uniform(lo_y, hi_y), rng.uniform(lo_x, hi_x)
    alpha = object_alpha((h, w), (cy, cx), radius)  # (H, W)

    # cut the object from the donor at a random place where its bounding box fits
    dh, dw = donor.shape[:2]
    r = int(math.ceil(reach))
    dcy = int(rng.integers(r, dh - r)) if dh > 2 * r else dh // 2
    dcx = int(rng.integers(r, dw - r)) if dw > 2 * r else dw // 2
    shift = np.float32([[1, 0, dcx - round(cx)], [0, 1, dcy - round(cy)]])  # gt (x, y) -> donor (x, y), whole px
    pasted = cv2.warpAffine(donor, shift, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REFLECT)  # (H, W, 3)

    a3 = alpha[..., None]
    source = np.clip(np.rint(a3 * pasted + (1 - a3) * gt), 0, 255).astype(np.uint8)
    mask = dilate(alpha > 0, MASK_DILATION)
    name = f"case-{index + 1:02d}-{bg_path.stem.lower()}"
    meta = {
        "name": name, "seed": seed, "index": index, "photo": bg_path.name, "donor": donor_path.name,
        "size": [w, h], "outline": kind, "center": [round(cx, 1), round(cy, 1)],
        "object_fraction": round(float(alpha.sum()) / (h * w), 4),
        "mask_fraction": round(float(mask.mean()), 4),
    }
    return Case(name=name, source=source, mask=mask, gt=gt, meta=meta)


def make_cases(count: int, photos_dir: Path = DEFAULT_PHOTOS, seed: int = 7, long_side: int = 1024) -> list[Case]:
    """Build `count` cases from the photos in photos_dir (different backgrounds while count allows)."""
    if count < 1:
        raise ValueError(f"cases: need at least one case, got {count}")
    photos = list_photos(photos_dir)
    return [make_case(i, photos, seed, long_side) for i in range(count)]

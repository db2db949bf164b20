"""Masked image-quality metrics for the object-removal benchmark, in plain numpy.

Every method's output is scored by these same functions, on float images in [0, 1] of shape
(H, W, C) and a boolean mask of shape (H, W) that marks the removed region. Only masked pixels
count, because a remover changes only those.

Definitions (also written into Docs/BENCHMARKS.md):
- masked MSE: mean of (result - truth)^2 over masked pixels and all channels.
- masked PSNR: 10 * log10(1 / masked MSE) dB (peak 1.0); infinite when the MSE is 0.
- masked L1: mean of |result - truth| over masked pixels and all channels.
- masked SSIM: the SSIM map of Wang et al. (2004) per channel over the whole image, with
  Gaussian-weighted local statistics (11x11 window, sigma 1.5, image borders reflected),
  C1 = 0.01^2 and C2 = 0.03^2; averaged over masked pixels, then over channels.
"""

from __future__ import annotations

import math

import numpy as np

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2


def _check(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Validate shapes and return the mask as bool (H, W); raise ValueError naming the problem."""
    if result.shape != truth.shape:
        raise ValueError(f"metrics: result shape {result.shape} differs from truth shape {truth.shape}")
    if result.ndim != 3:
        raise ValueError(f"metrics: expected (H, W, C) images, got shape {result.shape}")
    if mask.shape != result.shape[:2]:
        raise ValueError(f"metrics: mask shape {mask.shape} differs from image size {result.shape[:2]}")
    mask = mask.astype(bool)
    if not mask.any():
        raise ValueError("metrics: the mask is empty, so masked metrics are undefined")
    return mask


def masked_mse(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared error over masked pixels and all channels."""
    mask = _check(result, truth, mask)
    diff = result.astype(np.float64)[mask] - truth.astype(np.float64)[mask]  # (N, C)
    return float(np.mean(diff * diff))


def masked_psnr(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over masked pixels (peak 1.0); inf for identical pixels."""
    mse = masked_mse(result, truth, mask)
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def masked_l1(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error over masked pixels and all channels."""
    mask = _check(result, truth, mask)
    diff = result.astype(np.float64)[mask] - truth.astype(np.float64)[mask]  # (N, C)
    return float(np.mean(np.abs(diff)))


def gaussian_kernel(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian of `size` taps (odd), shape (size,)."""
    if size % 2 != 1 or size < 1:
        raise ValueError(f"gaussian_kernel: size must be odd and positive, got {size}")
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    k = np.exp(-(x * x) / (2 * sigma * sigma))
    return k / k.sum()


def gaussian_filter(plane: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable filter of a 2-D plane (H, W) with a 1-D kernel, borders reflected; same shape out."""
    r = len(kernel) // 2
    padded = np.pad(plane, r, mode="reflect")  # (H + 2r, W + 2r)
    h, w = plane.shape
    rows = np.zeros((h + 2 * r, w), dtype=np.float64)  # filtered along x
    for i, k in enumerate(kernel):
        rows += k * padded[:, i : i + w]
    out = np.zeros((h, w), dtype=np.float64)  # then along y
    for i, k in enumerate(kernel):
        out += k * rows[i : i + h, :]
    return out


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM map of two single-channel planes (H, W) in [0, 1]; returns (H, W)."""
    kernel = gaussian_kernel()
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    mu_a = gaussian_filter(a, kernel)
    mu_b = gaussian_filter(b, kernel)
    var_a = gaussian_filter(a * a, kernel) - mu_a * mu_a
    var_b = gaussian_filter(b * b, kernel) - mu_b * mu_b
    cov = gaussian_filter(a * b, kernel) - mu_a * mu_b
    num = (2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)
    den = (mu_a * mu_a + mu_b * mu_b + SSIM_C1) * (var_a + var_b + SSIM_C2)
    return num / den


def masked_ssim(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """SSIM map per channel over the whole image, averaged over masked pixels, then channels."""
    mask = _check(result, truth, mask)
    per_channel = [float(ssim_map(result[..., c], truth[..., c])[mask].mean()) for c in range(result.shape[2])]
    return float(np.mean(per_channel))


def all_metrics(result_u8: np.ndarray, truth_u8: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM and L1 of uint8 images (H, W, 3) over a mask (H, W); images scaled to [0, 1]."""
    result = result_u8.astype(np.float64) / 255.0
    truth = truth_u8.astype(np.float64) / 255.0
    return {
        "psnr": masked_psnr(result, truth, mask),
        "ssim": masked_ssim(result, truth, mask),
        "l1": masked_l1(result, truth, mask),
    }

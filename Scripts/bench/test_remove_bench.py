"""Tests of the benchmark's metrics, cases and report (stdlib unittest; pytest also collects them).

Run: .venv/bin/python -m unittest discover -s Scripts/bench -p 'test_remove_bench.py'
"""

from __future__ import annotations

import math
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics  # noqa: E402
from cases import DEFAULT_PHOTOS, dilate, make_cases, object_alpha  # noqa: E402
from report import BEGIN, END, check_goals, summarize, update_doc  # noqa: E402


def _images(h: int = 40, w: int = 50) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    truth = rng.uniform(0.2, 0.8, size=(h, w, 3))  # (H, W, 3)
    mask = np.zeros((h, w), bool)
    mask[10:25, 15:40] = True
    return truth, mask


class MetricTests(unittest.TestCase):
    def test_psnr_and_l1_of_a_constant_error_inside_the_mask(self):
        truth, mask = _images()
        result = truth.copy()
        result[mask] += 0.1  # MSE 0.01 -> 20 dB, L1 0.1
        result[~mask] = 0.0  # pixels outside the mask must not count
        self.assertAlmostEqual(metrics.masked_psnr(result, truth, mask), 20.0, places=9)
        self.assertAlmostEqual(metrics.masked_l1(result, truth, mask), 0.1, places=12)

    def test_psnr_averages_over_channels(self):
        truth, mask = _images()
        result = truth.copy()
        result[..., 1][mask] += 0.3  # one channel off by 0.3: MSE = 0.09 / 3 = 0.03
        self.assertAlmostEqual(metrics.masked_psnr(result, truth, mask), 10 * math.log10(1 / 0.03), places=9)

    def test_identical_images_have_ssim_one_and_infinite_psnr(self):
        truth, mask = _images()
        self.assertAlmostEqual(metrics.masked_ssim(truth, truth.copy(), mask), 1.0, places=12)
        self.assertEqual(metrics.masked_psnr(truth, truth.copy(), mask), math.inf)

    def test_ssim_of_two_flat_images_is_the_luminance_term(self):
        a = np.full((30, 30, 3), 0.2)
        b = np.full((30, 30, 3), 0.6)
        mask = np.ones((30, 30), bool)
        # variances and covariance vanish, so SSIM = (2ab + C1) / (a^2 + b^2 + C1)
        self.assertAlmostEqual(metrics.masked_ssim(a, b, mask), 0.2401 / 0.4001, places=9)

    def test_ssim_map_matches_a_direct_window_computation(self):
        rng = np.random.default_rng(11)
        a = rng.uniform(size=(32, 32))
        b = np.clip(a + rng.normal(0, 0.1, size=a.shape), 0, 1)
        y, x = 16, 13  # interior: the 11x11 window needs no border handling
        g1 = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
        win = np.outer(g1, g1) / np.outer(g1, g1).sum()  # (11, 11)
        pa, pb = a[y - 5 : y + 6, x - 5 : x + 6], b[y - 5 : y + 6, x - 5 : x + 6]
        ma, mb = (win * pa).sum(), (win * pb).sum()
        va, vb = (win * (pa - ma) ** 2).sum(), (win * (pb - mb) ** 2).sum()
        cov = (win * (pa - ma) * (pb - mb)).sum()
        c1, c2 = 0.01**2, 0.03**2
        expected = (2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
        self.assertAlmostEqual(metrics.ssim_map(a, b)[y, x], expected, places=10)

    def test_filter_keeps_a_flat_plane_flat_up_to_the_border(self):
        out = metrics.gaussian_filter(np.full((15, 20), 0.7), metrics.gaussian_kernel())
        self.assertTrue(np.allclose(out, 0.7, atol=1e-12))

    def test_bad_inputs_raise_with_the_problem_named(self):
        truth, mask = _images()
        with self.assertRaisesRegex(ValueError, "mask is empty"):
            metrics.masked_psnr(truth, truth, np.zeros_like(mask))
        with self.assertRaisesRegex(ValueError, "differs from truth shape"):
            metrics.masked_l1(truth[:5], truth, mask)


class CaseTests(unittest.TestCase):
    def test_alpha_is_one_inside_zero_outside_and_soft_between(self):
        radius = np.full(720, 10.0)  # a circle of radius 10
        alpha = object_alpha((41, 41), (20.0, 20.0), radius)
        self.assertEqual(alpha[20, 20], 1.0)
        self.assertEqual(alpha[20, 20 + 12], 0.0)
        self.assertAlmostEqual(alpha[20, 30], 0.5, places=6)  # exactly on the outline
        self.assertAlmostEqual(alpha.sum(), math.pi * 100, delta=2.0)

    def test_dilate_grows_a_point_to_a_disk(self):
        mask = np.zeros((21, 21), bool)
        mask[10, 10] = True
        grown = dilate(mask, 4)
        self.assertTrue(grown[10, 14] and grown[14, 10] and not grown[10, 15] and not grown[14, 14])

    @unittest.skipUnless(DEFAULT_PHOTOS.is_dir(), "mate-backgrounds photos not installed")
    def test_cases_are_deterministic_and_well_formed(self):
        first = make_cases(3, DEFAULT_PHOTOS, seed=5, long_side=256)
        again = make_cases(3, DEFAULT_PHOTOS, seed=5, long_side=256)
        self.assertEqual(len({c.meta["photo"] for c in first}), 3)
        for case, twin in zip(first, again):
            self.assertTrue(np.array_equal(case.source, twin.source) and np.array_equal(case.mask, twin.mask))
            self.assertNotEqual(case.meta["photo"], case.meta["donor"])
            self.assertEqual(max(case.gt.shape[:2]), 256)
            changed = np.any(case.source != case.gt, axis=2)  # (H, W)
            self.assertGreater(changed.mean(), 0.015)
            self.assertLess(case.mask.mean(), 0.11)
            # every changed pixel lies inside the mask, which extends 4 px past the object
            self.assertFalse((changed & ~case.mask).any())
            eroded = ~dilate(~case.mask, 3)
            self.assertFalse((changed & ~eroded).any())
            # nothing touches the border
            self.assertFalse(case.mask[0].any() or case.mask[-1].any() or case.mask[:, 0].any())


class ReportTests(unittest.TestCase):
    def test_update_doc_replaces_only_its_section(self):
        with tempfile.TemporaryDirectory() as tmp:
            doc = Path(tmp) / "B.md"
            update_doc(doc, "first\n")
            self.assertEqual(doc.read_text(), f"# Benchmarks\n\n{BEGIN}\nfirst\n{END}\n")
            doc.write_text(doc.read_text() + "\n<!-- engine:begin -->\nengine text\n<!-- engine:end -->\n")
            update_doc(doc, "second\n")
            text = doc.read_text()
            self.assertIn(f"{BEGIN}\nsecond\n{END}", text)
            self.assertNotIn("first", text)
            self.assertIn("engine text", text)

    def test_goals_and_time_ratios(self):
        def row(psnr, ssim, ms):
            return {"psnr": psnr, "ssim": ssim, "l1": 0.05, "median_ms": ms, "error": None}

        rows = {
            "a": {"opencv-telea": row(20, 0.70, 10), "opencv-ns": row(21, 0.72, 9), "pypatchmatch": row(24, 0.75, 100),
                  "rorem-telea": row(20, 0.70, 12), "rorem-patchmatch": row(25, 0.80, 50)},
            "b": {"opencv-telea": row(22, 0.74, 20), "opencv-ns": row(21, 0.71, 9), "pypatchmatch": row(23, 0.76, 200),
                  "rorem-telea": row(20, 0.70, 40), "rorem-patchmatch": row(22, 0.70, 300)},
        }
        summary = summarize(rows, list(rows["a"]))
        self.assertAlmostEqual(summary["rorem-telea"]["time_ratio"], (1.2 + 2.0) / 2)
        self.assertAlmostEqual(summary["rorem-patchmatch"]["time_ratio"], (0.5 + 1.5) / 2)
        self.assertAlmostEqual(summary["opencv-telea"]["psnr"], 21.0)
        status = [g["status"] for g in check_goals(summary)]
        # PSNR 23.5 >= best OpenCV 21.0; SSIM 0.75 >= 0.72; telea 1.6x > 1.5x; pm 1.0x <= 1.0x;
        # PSNR 23.5 == pypatchmatch 23.5 is not better; SSIM 0.75 < 0.755
        self.assertEqual(status, [True, True, False, True, False, False])

    def test_missing_method_is_not_measured(self):
        rows = {"a": {"opencv-telea": {"psnr": 20, "ssim": 0.7, "l1": 0.1, "median_ms": 5, "error": None},
                      "rorem-telea": {"median_ms": None, "error": "rorem binary not found"}}}
        summary = summarize(rows, ["opencv-telea", "rorem-telea"])
        self.assertEqual(summary["rorem-telea"]["cases"], 0)
        self.assertIsNone(check_goals(summary)[2]["status"])


if __name__ == "__main__":
    unittest.main()

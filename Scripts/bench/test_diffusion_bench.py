"""Tests of Scripts/bench/diffusion.py: the report's pieces always, and the whole run on the tiny folder (--tiny)
when diffusers and a built rorem are there.

Scripts/test runs these with Scripts/requirements-bench.txt, which has no torch or diffusers (a CPU torch alone is
hundreds of MB): the end-to-end test then skips and says so. Run it with an interpreter that has them:
    /work/venv/bin/python -m unittest discover -s Scripts/bench -p 'test_diffusion_bench.py'
or set ROREM_BENCH_PYTHON to such an interpreter (the benchmark's diffusers child runs under it).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import diffusion  # noqa: E402

ROREM = Path(os.environ.get("ROREM", diffusion.ROOT / ".build" / "release" / "rorem"))
BENCH_PYTHON = os.environ.get("ROREM_BENCH_PYTHON")


def _python_has_diffusers() -> str | None:
    """The interpreter to run the benchmark with, or None when none has diffusers, torch and peft."""
    if BENCH_PYTHON:
        return BENCH_PYTHON
    if all(importlib.util.find_spec(m) for m in ("torch", "diffusers", "transformers", "peft")):
        return sys.executable
    return None


class ReportTests(unittest.TestCase):
    def test_parse_rorem_reads_numbers_and_words(self):
        values = diffusion.parse_rorem("load_ms=12\nresolution=512\ndtype=fp32\nnoise\nunet_step_ms=3.5\n")
        self.assertEqual(values["load_ms"], 12.0)
        self.assertEqual(values["unet_step_ms"], 3.5)
        self.assertEqual(values["dtype"], "fp32")
        self.assertNotIn("noise", values)

    def test_compare_divides_rorem_by_diffusers(self):
        rows = {r["measure"]: r for r in diffusion.compare({"unet_step_ms": 50.0, "peak_rss_mb": 900.0},
                                                           {"unet_step_ms": 100.0, "peak_rss_mb": 0.0})}
        self.assertAlmostEqual(rows["unet_step_ms"]["ratio"], 0.5)
        self.assertIsNone(rows["peak_rss_mb"]["ratio"])          # no ratio against zero
        self.assertIsNone(rows["vae_decode_ms"]["ratio"])        # missing on both sides
        self.assertEqual([r["measure"] for r in diffusion.compare({}, {})], diffusion.MEASURES)

    def test_combine_takes_medians_over_rounds_and_the_median_round_ratio(self):
        rounds = [({"unet_step_ms": 90.0}, {"unet_step_ms": 100.0}),     # 0.9
                  ({"unet_step_ms": 150.0}, {"unet_step_ms": 100.0}),    # 1.5: a slow moment for rorem
                  ({"unet_step_ms": 120.0}, {"unet_step_ms": 120.0})]    # 1.0
        row = {r["measure"]: r for r in diffusion.combine(rounds)}["unet_step_ms"]
        self.assertEqual(row["rorem"], 120.0)
        self.assertEqual(row["diffusers"], 100.0)
        self.assertAlmostEqual(row["ratio"], 1.0)
        self.assertEqual([round(r, 2) for r in row["round_ratios"]], [0.9, 1.5, 1.0])
        one = {r["measure"]: r for r in diffusion.combine(rounds[:1])}["unet_step_ms"]
        self.assertAlmostEqual(one["ratio"], 0.9)
        self.assertEqual(one["round_ratios"], [])

    def test_commands_give_both_sides_the_same_settings(self):
        rorem, ref = diffusion.commands("rorem", "python", "/f", "/l.safetensors", "fp16", 512, 3, {"unet", "decode"}, 2, "fp32")
        for cmd in (rorem, ref):
            for flag, value in (("--resolution", "512"), ("--runs", "3"), ("--parts", "decode,unet"), ("--threads", "2"),
                                ("--variant", "fp16"), ("--dtype", "fp32"), ("--lora", "/l.safetensors")):
                self.assertEqual(cmd[cmd.index(flag) + 1], value, f"{flag} in {cmd}")
        self.assertEqual(rorem[1:3], ["bench", "diffusion"])
        stored, ref2 = diffusion.commands("rorem", "python", "/f", "/l", None, 32, 1, {"unet"}, 2, "fp32", "stored")
        self.assertNotIn("--dtype", stored, "stored: rorem keeps the folder's dtype")
        self.assertNotIn("--variant", stored)
        self.assertEqual(ref2[ref2.index("--dtype") + 1], "fp32", "diffusers still computes in the dtype")

    def test_default_dtype_follows_the_bf16_features(self):
        cpu = {"features": {"avx2": True, "avx512f": True, "avx512_bf16": False, "amx_bf16": False}}
        self.assertEqual(diffusion.default_dtype(cpu), "fp32")
        cpu["features"]["amx_bf16"] = True
        self.assertEqual(diffusion.default_dtype(cpu), "bf16")

    def test_update_doc_replaces_only_the_marked_block(self):
        with tempfile.TemporaryDirectory() as d:
            doc = Path(d) / "B.md"
            doc.write_text(f"# T\n\nbefore\n{diffusion.BEGIN}\nold\n{diffusion.END}\nafter\n")
            diffusion.update_doc(doc, "new table\n")
            text = doc.read_text()
            self.assertIn("before", text)
            self.assertIn("after", text)
            self.assertIn("new table", text)
            self.assertNotIn("old", text)
            diffusion.update_doc(doc, "newer\n")
            self.assertEqual(doc.read_text().count(diffusion.BEGIN), 1)


class TinyRunTests(unittest.TestCase):
    def test_tiny_run_end_to_end(self):
        python = _python_has_diffusers()
        if python is None:
            self.skipTest("diffusers, torch, transformers and peft are not installed in this interpreter "
                          "(Scripts/requirements-bench.txt leaves them out); set ROREM_BENCH_PYTHON to one that has them")
        if not ROREM.exists():
            self.skipTest(f"no rorem binary at {ROREM} (swift build -c release first)")
        with tempfile.TemporaryDirectory() as out:
            doc = Path(out) / "BENCH.md"
            done = subprocess.run([python, str(HERE / "diffusion.py"), "--tiny", "--rorem", str(ROREM), "--out", out,
                                   "--python", python, "--doc", str(doc), "--threads", "2", "--rounds", "2"],
                                  capture_output=True, text=True, timeout=600)
            self.assertEqual(done.returncode, 0, done.stderr[-3000:])
            report = json.loads((Path(out) / "diffusion.json").read_text())
            self.assertEqual(report["resolution"], 32)
            self.assertEqual(report["threads"], 2)
            self.assertIn(report["dtype"], ("fp32", "bf16"))
            self.assertEqual([r["measure"] for r in report["rows"]], diffusion.MEASURES)
            for row in report["rows"]:
                for side in ("rorem", "diffusers"):
                    self.assertGreater(row[side], 0, f"{side} {row['measure']}")
                self.assertGreater(row["ratio"], 0)
            self.assertEqual(report["rounds"], 2)
            for side in ("rorem", "diffusers"):
                self.assertEqual(len(report[side]), 2, f"one {side} result per round")
                self.assertTrue(all(r["threads"] == 2 for r in report[side]))
            self.assertTrue(all(len(r["round_ratios"]) == 2 for r in report["rows"] if r["ratio"] is not None))
            self.assertIn("model", report["cpu"])
            self.assertIn("amx_bf16", report["cpu"]["features"])
            md = (Path(out) / "diffusion.md").read_text()
            self.assertIn("| one UNet step (ms) |", md)
            self.assertIn("ratio in each round", md)
            self.assertIn("Seconds per image", md)
            self.assertIn(md.strip(), doc.read_text())


if __name__ == "__main__":
    unittest.main()

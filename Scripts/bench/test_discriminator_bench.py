"""End-to-end test of Scripts/bench/discriminator.py on the tiny fixture (stdlib unittest).

Needs torch, diffusers, peft and transformers (Scripts/requirements-fixtures-diffusion.txt), RORem's model file
(ROREM_SOURCE: a RORem checkout, a bare repository or the model file) and a built rorem (ROREM, default
.build/release/rorem); skipped when any is missing, as in the bench-only .venv that Scripts/test uses.

Run: ROREM_SOURCE=/path/to/RORem /work/venv/bin/python -m unittest Scripts/bench/test_discriminator_bench.py
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.normpath(os.path.join(here, "..", ".."))
fixture = os.path.join(repo, "Tests", "DiffusionTests", "Fixtures", "tiny-rorem-discriminator")
rorem = os.environ.get("ROREM", os.path.join(repo, ".build", "release", "rorem"))
source = os.environ.get("ROREM_SOURCE", "")
missing = [m for m in ("torch", "diffusers", "peft", "transformers") if importlib.util.find_spec(m) is None]


@unittest.skipIf(missing or not os.path.exists(source) or not os.access(rorem, os.X_OK),
                 f"needs {missing or ''} ROREM_SOURCE and a built rorem")
class DiscriminatorBenchTests(unittest.TestCase):
    def run_bench(self, *args):
        out = subprocess.run([sys.executable, os.path.join(here, "discriminator.py"), "--rorem-model", source,
                              "--rorem", rorem, "--resolution", "64", "--batch", "1,2", "--threads", "2", *args],
                             capture_output=True, text=True, timeout=900)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        rows = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines() if line.split()}
        for name in ("score_ms", "train_step_b1_ms", "train_step_b2_ms", "peak_rss_mb"):
            rorem_value, torch_value, ratio = rows[name]
            self.assertGreater(float(rorem_value), 0)
            self.assertGreater(float(torch_value), 0)
            self.assertGreater(float(ratio), 0)
        self.assertEqual(rows["params"][0].split(".")[0], rows["params"][1], "both sides build the same model")
        return rows

    def test_published_layout(self):
        self.run_bench("--base", os.path.join(fixture, "base"), "--lora", os.path.join(fixture, "lora"))

    def test_written_random_base(self):
        with tempfile.TemporaryDirectory() as tmp:
            base = os.path.join(tmp, "base")
            self.run_bench("--write-base", base, "--config", "tiny", "--head-width", "64")
            for sub in ("unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler"):
                self.assertTrue(os.path.isdir(os.path.join(base, sub)), sub)


if __name__ == "__main__":
    unittest.main()

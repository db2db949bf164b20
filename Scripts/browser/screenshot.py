#!/usr/bin/env python3
"""Takes the screenshot of the browser review in Docs/curation.md: a small synthetic store, two reviewers
(bob decides a few, then alice), alice's page in headless chromium, saved as a palette PNG (under 150 KB).

Usage: .venv/bin/python Scripts/browser/screenshot.py [OUT.png]   (default Docs/images/review-browser.png)
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reviewkit as kit  # noqa: E402
from test_review_page import new_browser, open_page, press  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(kit.ROOT, "Docs", "images", "review-browser.png")
    root, store = kit.temp_store_folder("rorem-review-shot-")
    try:
        kit.make_store(store, count=12, size=192, seed=11)
        server = kit.ReviewProcess(store, "--order", "margin", "--discriminator", "disc", "--threshold", "0.5")
        try:
            bob = kit.HttpReviewer(server.host, server.port, "bob")
            state = bob.state()
            for decision in ("accept", "reject", "accept", "accept", "reject"):
                _, state = bob.decide(state, decision)
            bob.close()
            d = new_browser()
            d.set_window_size(1360, 860)
            try:
                open_page(d, server.url, "alice")
                for k, key in enumerate("arasa"):
                    press(d, key, k + 1)
                d.refresh()
                open_page(d, server.url, "alice")
                time.sleep(0.3)
                raw = out + ".raw.png"
                d.save_screenshot(raw)
            finally:
                d.quit()
        finally:
            server.stop()
        try:
            from PIL import Image
            Image.open(raw).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out + ".tmp.png", optimize=True)
            os.replace(out + ".tmp.png", out)
            os.remove(raw)
        except ImportError:
            os.replace(raw, out)
        print(f"screenshot: {out} ({os.path.getsize(out) // 1024} KB)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

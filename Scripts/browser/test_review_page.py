"""The browser review in a real browser: Debian's headless chromium, driven by Selenium with the page's keys,
against `rorem review` on a temporary store; the store is checked afterwards with sqlite3.

Run: .venv/bin/python -m unittest discover -s Scripts/browser -p 'test_*.py'   (Scripts/test does)
Needs: rorem built (.build/debug/rorem or $ROREM), chromium and chromium-driver (Scripts/setup), selenium.
"""
import http.client
import os
import shutil
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reviewkit as kit  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def new_browser():
    paths = kit.chromium_paths()
    if paths is None:
        raise RuntimeError("chromium and chromium-driver are needed: run Scripts/setup (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,950", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    # On a loaded machine (CI shares its cores) chromium can miss the driver's start-up deadline: try again, twice.
    for attempt in range(3):
        try:
            return webdriver.Chrome(service=Service(paths[1]), options=options)
        except WebDriverException as e:
            if attempt == 2:
                raise
            print(f"new_browser: chromium did not start ({str(e).splitlines()[0]}); retrying", file=sys.stderr)
            time.sleep(2)


def data(d, key):
    return d.execute_script("return document.body.dataset[arguments[0]] || ''", key)


def wait_until(d, predicate, what, timeout=40):
    WebDriverWait(d, timeout).until(lambda _: predicate(), message=what)


def press(d, key, done):
    """Presses `key` on the page and waits until the server's answer shows: `done` decisions, images ready."""
    d.find_element(By.TAG_NAME, "body").send_keys(key)
    wait_until(d, lambda: data(d, "done") == str(done) and data(d, "ready") == "1" and data(d, "revisiting") == "0",
               f"after key {key!r}: done should be {done}, is {data(d, 'done')}")


def open_page(d, url, name):
    import urllib.parse
    d.get(url + "?by=" + urllib.parse.quote(name))
    wait_until(d, lambda: data(d, "ready") == "1", f"the page for {name} did not load")


class ReviewPageTests(unittest.TestCase):
    """One server and store for the page tests; each test uses its own reviewers."""

    @classmethod
    def setUpClass(cls):
        cls.root, cls.store = kit.temp_store_folder()
        kit.make_store(cls.store, count=8)
        cls.server = kit.ReviewProcess(cls.store, "--round", "1")
        cls.browsers = []

    @classmethod
    def tearDownClass(cls):
        for b in cls.browsers:
            b.quit()
        cls.server.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def browser(self):
        b = new_browser()
        self.browsers.append(b)
        return b

    def test_two_reviewers_at_once_with_keys_and_undo(self):
        alice, bob = self.browser(), self.browser()
        open_page(alice, self.server.url, "alice")
        open_page(bob, self.server.url, "bob")
        first = int(data(alice, "candidate"))
        # Interleaved keys: each page shows its own queue and moves on only after its decision is committed.
        press(alice, "a", 1)
        press(bob, "r", 1)
        press(alice, "n", 2)
        press(bob, "y", 2)
        press(alice, Keys.SPACE, 3)
        press(alice, "a", 4)
        # Both at the same moment, from two threads.
        errors = []

        def burst(d, keys, start):
            try:
                for k, key in enumerate(keys):
                    press(d, key, start + k + 1)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=burst, args=(alice, "rr", 4)), threading.Thread(target=burst, args=(bob, "aas", 2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        # Undo alice's last two (two rejects), bob's last (a skip).
        press(alice, "u", 5)
        press(alice, "u", 4)
        press(bob, "u", 4)
        self.assertIn("4 / 8 decided: 2 accepted, 1 rejected, 1 skipped; accept rate 67%",
                      alice.find_element(By.ID, "progress").text.replace("\n", " "))
        # The store holds exactly each person's committed labels, with the person's lineage.
        ids = [first + k for k in range(8)]  # the store's candidates in the given order
        self.assertEqual(kit.person_labels(self.store, "alice"), {ids[0]: True, ids[1]: False, ids[3]: True})
        self.assertEqual(kit.person_labels(self.store, "bob"), {ids[0]: False, ids[1]: True, ids[2]: True, ids[3]: True})
        for cand, accept, kind, name, round_number, created in kit.label_rows(self.store, "alice"):
            self.assertEqual((kind, name, round_number), ("person", "alice", 1))
            self.assertGreater(created, time.time() - 600)
        # The list of decisions shows alice's, newest first; the agreement panel compares alice and bob.
        items = [li.text for li in alice.find_elements(By.CSS_SELECTOR, "#decisions li")]
        self.assertEqual(len(items), 4)
        self.assertTrue(items[0].startswith("4. "), items)
        # The panel updates with the next state from the server; reload to get it now.
        alice.refresh()
        wait_until(alice, lambda: data(alice, "ready") == "1", "reload")
        rows = [r.text for r in alice.find_elements(By.CSS_SELECTOR, "#agreement tbody tr")]
        self.assertTrue(any(r.startswith("alice / bob 3 ") for r in rows), rows)   # 3 candidates both decided
        self.assertTrue(any(r.startswith("alice / oracle") for r in rows), rows)

    def test_images_are_displayed(self):
        d = self.browser()
        open_page(d, self.server.url, "carol")
        for element in ("img-source", "img-result"):
            ok = d.execute_script("const i = document.getElementById(arguments[0]);"
                                  "return i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 200;", element)
            self.assertTrue(ok, element)
        for canvas in ("canvas-overlay", "zoom-source", "zoom-result"):
            painted = d.execute_script(
                "const c = document.getElementById(arguments[0]);"
                "if (!c.width || c.getBoundingClientRect().width < 100) return false;"
                "const p = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                "for (let i = 0; i < p.length; i += 4) if (p[i] || p[i + 1] || p[i + 2]) return true; return false;", canvas)
            self.assertTrue(painted, canvas)
        # The overlay really differs from the source where the mask is (it is tinted red there).
        tinted = d.execute_script(
            "const c = document.getElementById('canvas-overlay'), s = document.getElementById('img-source');"
            "const t = document.createElement('canvas'); t.width = c.width; t.height = c.height;"
            "const x = t.getContext('2d'); x.drawImage(s, 0, 0);"
            "const a = x.getImageData(0, 0, t.width, t.height).data, b = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            "let n = 0; for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i]) n++; return n;")
        self.assertGreater(tinted, 0)
        # Nothing on the page comes from another host.
        sources = d.execute_script("return [...document.querySelectorAll('[src],[href]')].map(e => e.src || e.href)")
        self.assertTrue(all(s.startswith(self.server.url) for s in sources if s), sources)

    def test_resume_after_reload_and_after_a_restart(self):
        d = self.browser()
        open_page(d, self.server.url, "dave")
        press(d, "a", 1)
        press(d, "r", 2)
        third = data(d, "candidate")
        d.refresh()
        wait_until(d, lambda: data(d, "ready") == "1", "reload")
        self.assertEqual(data(d, "done"), "2")
        self.assertEqual(data(d, "candidate"), third)
        self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, "#decisions li")), 2)
        # Revisit the first decision from the list and change it with a key.
        d.find_element(By.CSS_SELECTOR, "#decisions li:last-child button").click()
        wait_until(d, lambda: data(d, "revisiting") == "1" and data(d, "ready") == "1", "revisit")
        first = int(data(d, "candidate"))
        self.assertTrue(kit.person_labels(self.store, "dave")[first])
        press(d, "r", 2)
        self.assertFalse(kit.person_labels(self.store, "dave")[first])
        self.assertEqual(data(d, "candidate"), third)

    def test_reviewer_name_with_html_is_shown_escaped(self):
        name = '<img src=x onerror="document.title=\'pwned\'"><b>eve</b>'
        d = self.browser()
        open_page(d, self.server.url, name)
        self.assertEqual(d.find_element(By.ID, "reviewer").text, name)
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "#reviewer b, #reviewer img, header img"), [])
        self.assertNotEqual(d.title, "pwned")
        self.assertIn(name, d.title)
        press(d, "a", 1)
        self.assertEqual(list(kit.person_labels(self.store, name).values()), [True])


class ScoreOrderTests(unittest.TestCase):
    def test_discriminator_order_shows_the_score(self):
        root, store = kit.temp_store_folder()
        try:
            kit.make_store(store, count=6)
            server = kit.ReviewProcess(store, "--order", "margin", "--discriminator", "disc", "--threshold", "0.5")
            d = new_browser()
            try:
                open_page(d, server.url, "frank")
                score = d.find_element(By.ID, "score").text
                self.assertRegex(score, r"^score 0\.\d{3} \(disc\)$")
            finally:
                d.quit()
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


class ServerFaultTests(unittest.TestCase):
    """Faults of the server process (HTTP only, no browser)."""

    def setUp(self):
        self.root, self.store = kit.temp_store_folder()
        kit.make_store(self.store, count=40, size=48, discriminator=False)

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def test_kill_9_mid_review_loses_no_committed_decision(self):
        server = kit.ReviewProcess(self.store)
        acknowledged = {}
        stop = threading.Event()

        def reviewer(name):
            r = kit.HttpReviewer(server.host, server.port, name)
            try:
                state = r.state()
                k = 0
                while not stop.is_set() and state.get("item"):
                    decision = ("accept", "reject")[k % 2]
                    status, body = r.decide(state, decision)
                    if status != 200:
                        break
                    acknowledged.setdefault(name, {})[state["item"]["candidate"]] = decision == "accept"
                    state, k = body, k + 1
            except (OSError, ValueError, AssertionError, TypeError, http.client.HTTPException):
                pass  # the server died under us: expected
            finally:
                r.close()
        threads = [threading.Thread(target=reviewer, args=(n,)) for n in ("k1", "k2")]
        for t in threads:
            t.start()
        time.sleep(1.0)
        server.kill9()   # mid-review: both reviewers are posting
        stop.set()
        for t in threads:
            t.join()
        self.assertGreater(sum(len(v) for v in acknowledged.values()), 4)
        self.assertEqual(kit.integrity(self.store), "ok")
        for name, expected in acknowledged.items():
            stored = kit.person_labels(self.store, name)
            # Every acknowledged decision is there; at most the one in flight was also committed.
            self.assertEqual({c: a for c, a in stored.items() if c in expected}, expected)
            self.assertLessEqual(len(stored) - len(expected), 1)
        # A new server resumes each reviewer after their last committed decision.
        again = kit.ReviewProcess(self.store)
        try:
            for name, expected in acknowledged.items():
                r = kit.HttpReviewer(again.host, again.port, name)
                self.assertEqual(r.state()["done"], len(kit.person_labels(self.store, name)))
                r.close()
        finally:
            again.stop()

    def test_port_in_use_gets_a_clear_message(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        try:
            import subprocess
            p = subprocess.run([kit.rorem_binary(), "review", self.store, "--port", str(port)],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 1)
            self.assertIn(f"port {port} on 127.0.0.1 is already in use", p.stderr)
        finally:
            blocker.close()

    def test_a_signal_right_after_start_stops_the_server(self):
        # The handler is in place before the address is printed (a signal in that moment was once lost).
        for k in range(6):
            server = kit.ReviewProcess(self.store)
            code, out, _ = server.stop((signal.SIGTERM, signal.SIGINT)[k % 2], timeout=20)
            self.assertEqual(code, 0)
            self.assertIn("review: stopped", out)

    def test_bad_arguments_get_clear_messages(self):
        import subprocess
        cases = [
            ([os.path.join(self.root, "missing")], 1, "cannot open the store"),
            ([self.store, "--round", "7"], 1, "no candidates in the store"),
            ([self.store, "--order", "margin"], 64, "needs --discriminator"),
            ([self.store, "--order", "sideways"], 64, "unknown order"),
            ([self.store, "--host", "example.com"], 1, "must be an IP address"),
            ([self.store, "--by", "a\x01b"], 64, "control characters"),
        ]
        for args, code, message in cases:
            p = subprocess.run([kit.rorem_binary(), "review", *args, "--port", "0"], capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, code, (args, p.stdout, p.stderr))
            self.assertIn(message, p.stderr, args)

    def test_sigterm_and_ctrl_c_end_cleanly_with_a_summary(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            server = kit.ReviewProcess(self.store)
            try:
                r = kit.HttpReviewer(server.host, server.port, "gina")
                status, _ = r.decide(r.state(), "accept")
                self.assertEqual(status, 200)
                r.close()
            except BaseException:
                server.kill9()
                raise
            code, out, err = server.stop(sig)
            self.assertEqual(code, 0, err)
            self.assertIn("review: stopped", out)
            self.assertIn("gina", out)

    def test_replayed_and_malformed_posts_change_nothing(self):
        server = kit.ReviewProcess(self.store)
        try:
            r = kit.HttpReviewer(server.host, server.port, "hana")
            state = r.state()
            item = state["item"]
            command = {"action": "decide", "decision": "accept", "position": 0, "candidate": item["candidate"]}
            self.assertEqual(r.post(command, nonce="replay-nonce-0123456789")[0], 200)
            self.assertEqual(r.undo(r.state())[0], 200)
            self.assertEqual(r.post(command, nonce="replay-nonce-0123456789")[0], 409)
            self.assertEqual(r.post(command, token="0" * 32)[0], 403)
            self.assertEqual(r.post(dict(command, decision="<script>"))[0], 400)
            self.assertEqual(r.post(dict(command, candidate=10 ** 12))[0], 409)
            self.assertEqual(kit.person_labels(self.store, "hana"), {})
            r.close()
        finally:
            server.stop()

    def test_other_hosts_are_announced(self):
        server = kit.ReviewProcess(self.store, "--host", "0.0.0.0")
        try:
            self.assertIn("warning: listening on 0.0.0.0", "".join(server.lines))
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()

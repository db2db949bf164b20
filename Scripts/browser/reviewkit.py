"""Helpers shared by the browser tests and the review load benchmark: build a small store with the rorem CLI,
start and stop `rorem review`, talk to its HTTP API, and read the store with sqlite3.

Nothing here needs the network: the store is synthetic, the server listens on 127.0.0.1, and the browser is
Debian's chromium driven by its chromium-driver.
"""
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rorem_binary():
    """The rorem executable: $ROREM, else the release build (what Scripts/test makes), else the debug build."""
    for path in (os.environ.get("ROREM"), os.path.join(ROOT, ".build", "release", "rorem"),
                 os.path.join(ROOT, ".build", "debug", "rorem")):
        if path and os.access(path, os.X_OK):
            return path
    raise RuntimeError("rorem is not built: run Scripts/test, or swift build -c release -Xswiftc -enable-testing (or set ROREM)")


def make_store(folder, count=8, size=96, seed=3, discriminator=True):
    """A store in `folder` with `count` synthetic pairs, telea's candidates in round 1, the oracle's labels and
    (optionally) an untrained discriminator's scores, made by `rorem run` on a small script."""
    script = os.path.join(os.path.dirname(folder.rstrip("/")), os.path.basename(folder.rstrip("/")) + "-make.rorem")
    lines = [
        f"let st = open_store({json.dumps(folder)})",
        f"let ds = synth({count}, width: {size}, height: {size}, seed: {seed}, shadows: true, textured: true)",
        'generate(st, remover("telea"), ds, round: 1)',
        "let c = candidates(st, round: 1)",
        "oracle(c)",
    ]
    if discriminator:
        lines.append('annotate(discriminator(seed: 1, name: "disc"), c, threshold: 0.5)')
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run([rorem_binary(), "run", script], check=True, capture_output=True, timeout=300)
    return folder


class ReviewProcess:
    """`rorem review STORE ARGS...` on a free port; `url` is what it printed."""

    def __init__(self, store, *args, port=0):
        self.command = [rorem_binary(), "review", store, "--port", str(port), *args]
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.url = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"serving at (http://\S+)", line)
            if m:
                self.url = m.group(1)
                break
        if self.url is None:
            self.proc.kill()
            err = self.proc.stderr.read()
            raise RuntimeError(f"rorem review did not start: {''.join(self.lines)} {err}")
        parsed = urllib.parse.urlparse(self.url)
        self.host, self.port = parsed.hostname, parsed.port

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Sends `sig` and waits; returns (exit status, the rest of stdout, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode, out, err

    def kill9(self):
        self.proc.kill()  # SIGKILL
        self.proc.wait(timeout=20)
        self.proc.stdout.close()
        self.proc.stderr.close()


class HttpReviewer:
    """One reviewer over the HTTP API on one keep-alive connection, as the page does it."""

    def __init__(self, host, port, name):
        self.name = name
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        status, page = self.request("GET", "/?by=" + urllib.parse.quote(name))
        assert status == 200, page
        self.token = re.search(r'name="review-token" content="([0-9a-f]+)"', page.decode()).group(1)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, r.read()

    def state(self, at=None):
        path = "/api/state?by=" + urllib.parse.quote(self.name) + ("" if at is None else f"&at={at}")
        status, body = self.request("GET", path)
        assert status == 200, body
        return json.loads(body)

    def post(self, command, nonce=None, token=None):
        """POSTs `command` (by and nonce added); returns (status, decoded JSON)."""
        command = dict(command, by=self.name, nonce=nonce or secrets.token_hex(16))
        status, body = self.request("POST", "/api/decide", body=json.dumps(command),
                                    headers={"Content-Type": "application/json", "X-Review-Token": token or self.token})
        return status, json.loads(body)

    def decide(self, state, decision):
        item = state["item"]
        return self.post({"action": "decide", "decision": decision, "position": item["position"],
                          "candidate": item["candidate"]})

    def undo(self, state):
        return self.post({"action": "undo", "position": state["position"]})

    def close(self):
        self.conn.close()


def person_labels(store, name):
    """{candidate id: accept (bool)} of person `name`'s labels, read with sqlite3."""
    with sqlite3.connect(os.path.join(store, "store.sqlite")) as db:
        rows = db.execute("SELECT candidate_id, accept FROM label WHERE annotator_kind = 'person' AND annotator_name = ?",
                          (name,)).fetchall()
    return {c: bool(a) for c, a in rows}


def label_rows(store, name):
    """Person `name`'s labels with their lineage: (candidate, accept, kind, annotator, round number, created_at)."""
    with sqlite3.connect(os.path.join(store, "store.sqlite")) as db:
        return db.execute("""
            SELECT l.candidate_id, l.accept, l.annotator_kind, l.annotator_name, r.number, l.created_at
            FROM label l JOIN candidate c ON c.id = l.candidate_id LEFT JOIN round r ON r.id = c.round_id
            WHERE l.annotator_kind = 'person' AND l.annotator_name = ? ORDER BY l.candidate_id""", (name,)).fetchall()


def integrity(store):
    with sqlite3.connect(os.path.join(store, "store.sqlite")) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def chromium_paths():
    """(browser, driver) from Debian's packages, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def temp_store_folder(prefix="rorem-review-"):
    root = tempfile.mkdtemp(prefix=prefix)
    return root, os.path.join(root, "store")

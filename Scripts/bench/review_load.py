#!/usr/bin/env python3
"""Load benchmark of the browser review: 4 reviewers (threads, one keep-alive connection each) decide every
candidate of a store through `rorem review`'s HTTP API on loopback, as fast as the server answers, with an undo
and a re-decision every 10th item. Records each decision's latency (POST sent -> committed state received) and
then checks that nothing was lost: each reviewer's labels in the store are exactly their decisions, every
session is complete, and `PRAGMA integrity_check` is ok.

Usage: .venv/bin/python Scripts/bench/review_load.py [--candidates 150] [--reviewers 4] [--out bench-out/review_load.json]
Bounded: --candidates (default 150) per reviewer and --timeout seconds overall (default 300).
"""
import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser"))
import reviewkit as kit  # noqa: E402


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_reviewer(host, port, name, seed, deadline, out):
    rng = random.Random(seed)
    r = kit.HttpReviewer(host, port, name)
    latencies, expected, errors = [], {}, []
    try:
        state = r.state()
        k = 0
        while state.get("item") and time.time() < deadline:
            decision = rng.choices(["accept", "reject", "skip"], weights=[6, 3, 1])[0]
            t0 = time.perf_counter()
            status, body = r.decide(state, decision)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(f"{name}: decide -> {status} {body}")
                break
            candidate = state["item"]["candidate"]
            if k % 10 == 9:  # take it back and decide again, the other way
                status, body = r.undo(body)
                if status != 200:
                    errors.append(f"{name}: undo -> {status} {body}")
                    break
                decision = {"accept": "reject", "reject": "accept", "skip": "accept"}[decision]
                t0 = time.perf_counter()
                status, body = r.decide(body, decision)
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors.append(f"{name}: re-decide -> {status} {body}")
                    break
            if decision != "skip":
                expected[candidate] = decision == "accept"
            state, k = body, k + 1
        out[name] = {"latencies": latencies, "expected": expected, "errors": errors, "done": state["done"],
                     "total": state["total"]}
    finally:
        r.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidates", type=int, default=150)
    ap.add_argument("--reviewers", type=int, default=4)
    ap.add_argument("--size", type=int, default=96, help="image side in pixels")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--out", default=os.path.join(kit.ROOT, "bench-out", "review_load.json"))
    args = ap.parse_args()

    root, store = kit.temp_store_folder("rorem-review-load-")
    kit.make_store(store, count=args.candidates, size=args.size, discriminator=False)
    server = kit.ReviewProcess(store)
    results = {}
    deadline = time.time() + args.timeout
    started = time.perf_counter()
    threads = [threading.Thread(target=run_reviewer, args=(server.host, server.port, f"r{i}", i, deadline, results))
               for i in range(args.reviewers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    code, _, err = server.stop()

    lost, problems = 0, []
    for name, r in results.items():
        problems += r["errors"]
        stored = kit.person_labels(store, name)
        if stored != r["expected"]:
            missing = {c for c in r["expected"] if stored.get(c) != r["expected"][c]}
            extra = set(stored) - set(r["expected"])
            lost += len(missing)
            problems.append(f"{name}: {len(missing)} decisions not in the store as made, {len(extra)} unexpected labels")
        if r["done"] != r["total"]:
            problems.append(f"{name}: finished {r['done']} of {r['total']} (bounded by --timeout)")
    latencies = sorted(x for r in results.values() for x in r["latencies"])
    report = {
        "reviewers": args.reviewers, "candidates": args.candidates, "image_size": args.size,
        "decisions": len(latencies), "wall_s": round(wall, 3),
        "decisions_per_s": round(len(latencies) / wall, 1) if wall > 0 else None,
        "median_ms": round(1000 * statistics.median(latencies), 2) if latencies else None,
        "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        "worst_ms": round(1000 * latencies[-1], 2) if latencies else None,
        "lost": lost, "integrity": kit.integrity(store), "server_exit": code, "problems": problems,
        "cpu": cpu_model(), "cores": os.cpu_count(), "rorem": kit.rorem_binary(),
        "loadavg_before_end": os.getloadavg()[0],
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump(report, f, indent=2)
    os.replace(args.out + ".tmp", args.out)
    print(json.dumps(report, indent=2))
    subprocess.run(["rm", "-rf", root])
    ok = not problems and lost == 0 and report["integrity"] == "ok" and code == 0
    if not ok:
        print("review_load: FAILED: " + "; ".join(problems) + (f" (server: {err.strip()})" if code else ""), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

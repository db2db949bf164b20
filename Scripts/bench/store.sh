#!/usr/bin/env bash
# Experiment-store benchmark: 100,000 labels (bulk and one by one), reading a round's candidates back, and opening
# a store of 200,000 pairs. Runs the correctness-only benchmark test at full size and prints its timings.
# Usage: Scripts/bench/store.sh [labels] [pairs]     (defaults 100000 200000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export ROREM_BENCH_LABELS="${1:-100000}"
export ROREM_BENCH_PAIRS="${2:-200000}"
swift build -c release -Xswiftc -enable-testing --build-tests
swift test -c release -Xswiftc -enable-testing --skip-build --filter StoreBenchmarkTests 2>&1 | grep -E "^bench |passed|failed|error"

#!/usr/bin/env bash
# Builds the libFuzzer harness over Sources/Lang and runs it on corpus/ for a while.
# usage: Scripts/fuzz/run.sh [seconds]   (default 60). New interesting inputs are added to corpus/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-60}"
build="${TMPDIR:-/tmp}/rorem-langfuzz"
mkdir -p "$build"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name Lang \
    "$root"/Sources/Lang/*.swift "$here/LangFuzzer.swift" -o "$build/langfuzz"
mkdir -p "$here/corpus"
cd "$build" && "$build/langfuzz" -max_total_time="$seconds" -max_len=512 -timeout=5 -rss_limit_mb=2048 -detect_leaks=0 "$here/corpus"

#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build/fuzz/ (or $WEFT_FUZZ_BUILD) and runs fuzz_http_request for
# SECONDS (default 60) on a copy of the seed corpus (fuzz/corpus/ stays as committed).
#
#   fuzz/run.sh [SECONDS]
#
# Crashes are written to build/fuzz/artifacts/; the last lines of the output give the
# executions done ("stat::number_of_executed_units") and the corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
case "$secs" in ''|*[!0-9]*) echo "usage: fuzz/run.sh [SECONDS]" >&2; exit 2 ;; esac
build=${WEFT_FUZZ_BUILD:-build/fuzz}
CC=clang cmake -S . -B "$build" -DWEFT_FUZZ=ON -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_BENCH=OFF \
    -DWEFT_JEMALLOC=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
make -C "$build" -j"$(nproc)" fuzz_http_request >/dev/null
work="$build/corpus"
mkdir -p "$work" "$build/artifacts"
cp -n fuzz/corpus/* "$work"/ 2>/dev/null || true
"$build/fuzz/fuzz_http_request" -max_total_time="$secs" -max_len=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/" "$work"

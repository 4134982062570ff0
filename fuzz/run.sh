#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build/fuzz/ (or $WEFT_FUZZ_BUILD) and runs
# each for SECONDS (default 60) on a copy of its seed corpus (fuzz/corpus/ for
# fuzz_http_request, fuzz/corpus_trace/ for fuzz_trace_read; both stay as committed).
#
#   fuzz/run.sh [SECONDS] [TARGET...]        (default: every target, one after the other)
#
# Exits non-zero as soon as a target fails. Crashes are written to build/fuzz/artifacts/;
# each target's last lines give the executions done ("stat::number_of_executed_units")
# and the corpus size.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
case "$secs" in ''|*[!0-9]*) echo "usage: fuzz/run.sh [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_http_request fuzz_trace_read)
build=${WEFT_FUZZ_BUILD:-build/fuzz}
CC=clang cmake -S . -B "$build" -DWEFT_FUZZ=ON -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_BENCH=OFF \
    -DWEFT_JEMALLOC=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
make -C "$build" -j"$(nproc)" "${targets[@]}" >/dev/null
mkdir -p "$build/artifacts"
for t in "${targets[@]}"; do
    case $t in
    fuzz_http_request) seeds=fuzz/corpus opts=(-max_len=4096) ;;
    # Trace files: a few records of a few hundred events; big enough for every record
    # kind and a flight dump, small enough for thousands of runs a second.
    fuzz_trace_read) seeds=fuzz/corpus_trace opts=(-max_len=16384) ;;
    *) echo "fuzz/run.sh: unknown target $t" >&2; exit 2 ;;
    esac
    work="$build/corpus_$t"
    mkdir -p "$work"
    cp -n "$seeds"/* "$work"/ 2>/dev/null || true
    echo "=== $t for ${secs}s"
    "$build/fuzz/$t" -max_total_time="$secs" "${opts[@]}" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" "$work"
done

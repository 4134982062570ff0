#!/usr/bin/env bash
# How soon a task queued behind a worker stuck in a long task runs on the idle worker:
# tests/test_steal prints it for every case (a task spawned by a hog, one of 8 spawned,
# a receiver woken into the hog's next slot). This runs it REPS times with the monitor
# thread as weft starts it (SCHED_FIFO where permitted) and with WEFT_MONITOR_RT=0,
# alternating the two, and prints per case and mode the median, the 90th percentile,
# the maximum and how many runs took over 1 ms.
#
# Usage: bench/run_steal.sh [REPS]      (default 10; about 6 s per repetition)
#
#   Builds test_steal (Release) into $BUILD_DIR (default <repo>/build/release); writes the
#   raw lines to bench/results/steal-raw.txt. Output lines:
#   bench=steal_<case>_<stat>_<mode> workers=2 value=V unit=ms|runs
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
REPS=${1:-10}
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [REPS]" >&2; exit 2; }
BUILD_DIR=${BUILD_DIR:-$root/build/release}
BIN=$BUILD_DIR/tests/test_steal
RAW=$here/results/steal-raw.txt

cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
    cmake --build "$BUILD_DIR" --target test_steal --parallel 2 >/dev/null ||
    { echo "run_steal.sh: building test_steal failed" >&2; exit 1; }
mkdir -p "$here/results"

# "spawned by the hog: task 0 ran on worker 1 (hog on 0) 0.123 ms after ..." -> "CASE MS"
extract() {
    sed -nE 's/^ *(spawned by the hog|one of 8 spawned by the hog|receiver woken by the hog.s send): .* ([0-9.]+) ms after.*/\1|\2/p' |
        sed -E 's/^spawned by the hog/spawned/; s/^one of 8 spawned by the hog/spawned8/; s/^receiver woken.*\|/woken|/' |
        tr '|' ' '
}

: >"$RAW"
for ((r = 1; r <= REPS; r++)); do
    "$BIN" 2>&1 | extract | sed "s/^/fifo /" >>"$RAW"
    WEFT_MONITOR_RT=0 "$BIN" 2>&1 | extract | sed "s/^/slice /" >>"$RAW"
done

for mode in fifo slice; do
    for c in spawned spawned8 woken; do
        awk -v m="$mode" -v c="$c" '$1 == m && $2 == c { print $3 }' "$RAW" | sort -g |
            awk -v m="$mode" -v c="$c" '
                { v[NR] = $1; if ($1 > 1.0) late++ }
                END {
                    if (NR == 0) { printf "run_steal.sh: no figures for %s %s\n", c, m > "/dev/stderr"; exit 1 }
                    printf "bench=steal_%s_median_%s workers=2 value=%.3f unit=ms\n", c, m, v[int((NR + 1) / 2)]
                    printf "bench=steal_%s_p90_%s workers=2 value=%.3f unit=ms\n", c, m, v[int(NR * 0.9) ? int(NR * 0.9) : 1]
                    printf "bench=steal_%s_max_%s workers=2 value=%.3f unit=ms\n", c, m, v[NR]
                    printf "bench=steal_%s_over_1ms_%s workers=2 value=%d unit=runs_of_%d\n", c, m, late, NR
                }'
    done
done

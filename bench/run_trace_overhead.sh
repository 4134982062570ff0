#!/usr/bin/env bash
# Cost of tracing: skynet (weft_micro) and the HTTP benchmark (weft-fetch against its
# in-process server) with tracing off and with WEFT_TRACE=FILE on, alternated within
# every round (off-on, then on-off, ...), medians over the rounds.
#
# Usage: bench/run_trace_overhead.sh [ROUNDS]      (default 5)
#
# Prints, per benchmark and worker count, the median over the rounds of each round's
# on-vs-off difference,
#   bench=trace_overhead_skynet workers=W value=PCT unit=%     (on vs off; + is slower)
#   bench=trace_overhead_http workers=W value=PCT unit=%       (req/s lost with tracing)
# and, when BASE_BUILD names a build of the commit before tracing existed (a Release
# build dir with bench/weft_micro and tools/weft-fetch), the cost of the hooks with
# tracing off, against that build, alternated the same way:
#   bench=trace_off_cost_skynet workers=W value=PCT unit=%
#   bench=trace_off_cost_http workers=W value=PCT unit=%
# and, when bench/peers/trace/go/trace-bench is built (bench/peers/trace/build.sh), the
# same skynet under Go's execution tracer (runtime/trace), on and off alternated:
#   bench=trace_overhead_skynet_go workers=W value=PCT unit=%
# plus one line per run on stderr (the raw figures). Negative values mean faster.
#
# Environment: BUILD_DIR (default <repo>/build-rel), BASE_BUILD (unset: skip the
# off-cost lines), WORKERS (default "1 2"), TRACE_FILE (default a temp file, removed),
# FETCH_N (requests per HTTP run, default 20000), FETCH_C (concurrency, default 50).
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
ROUNDS=${1:-5}
BUILD_DIR=${BUILD_DIR:-$root/build-rel}
BASE_BUILD=${BASE_BUILD:-}
WORKERS=${WORKERS:-1 2}
FETCH_N=${FETCH_N:-20000}
FETCH_C=${FETCH_C:-50}
GO_PEER=$here/peers/trace/go/trace-bench
tmpd=$(mktemp -d)
TRACE_FILE=${TRACE_FILE:-$tmpd/overhead.trace}
trap 'rm -rf "$tmpd"' EXIT

for b in "$BUILD_DIR/bench/weft_micro" "$BUILD_DIR/tools/weft-fetch"; do
    [[ -x $b ]] || { echo "missing $b (build with -DWEFT_BUILD_BENCH=ON)" >&2; exit 2; }
done

# skynet_ms BUILD [env...]: one skynet run's time in ms.
skynet_ms() {
    local build=$1 w=$2
    shift 2
    env "$@" "$build/bench/weft_micro" skynet "$w" | sed -n 's/.* value=\([0-9.]*\) unit=ms/\1/p'
}

# go_skynet_ms UNUSED W [TRACE=FILE]: one run of the Go peer, traced into FILE if given.
go_skynet_ms() {
    local w=$2 f=${3#TRACE=}
    "$GO_PEER" "$w" ${f:+"$f"} | sed -n 's/.* value=\([0-9.]*\) unit=ms/\1/p'
}

# fetch_rps BUILD W [env...]: one weft-fetch run's requests per second.
fetch_rps() {
    local build=$1 w=$2
    shift 2
    env "$@" "$build/tools/weft-fetch" -n "$FETCH_N" -c "$FETCH_C" -w "$w" | tail -n 1 |
        sed -n 's/.* req_per_s=\([0-9.]*\).*/\1/p'
}

median() {
    sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# pct A B HIGHER_IS_BETTER: how much worse B is than A, in percent.
pct() {
    awk -v a="$1" -v b="$2" -v hib="$3" 'BEGIN {
        if (a == 0 || b == 0) { print "nan"; exit }
        if (hib) printf "%.1f\n", (a / b - 1) * 100; else printf "%.1f\n", (b / a - 1) * 100 }'
}

# compare NAME KIND W A_BUILD A_ENV B_BUILD B_ENV: alternated rounds, prints the line.
compare() {
    local name=$1 kind=$2 w=$3 abuild=$4 aenv=$5 bbuild=$6 benv=$7
    local -a av=() bv=()
    for ((r = 1; r <= ROUNDS; r++)); do
        local x y fn=fetch_rps
        [[ $kind == skynet ]] && fn=skynet_ms
        [[ $kind == go_skynet ]] && fn=go_skynet_ms
        # ABBA order: whichever runs second in a pair inherits the first one's leftovers
        # (sockets in TIME_WAIT, dirty pages, a warmer or colder CPU), worth 2-3 points on
        # the HTTP figure here.
        if ((r % 2)); then
            x=$($fn "$abuild" "$w" $aenv)
            y=$($fn "$bbuild" "$w" $benv)
        else
            y=$($fn "$bbuild" "$w" $benv)
            x=$($fn "$abuild" "$w" $aenv)
        fi
        echo "run bench=$name workers=$w round=$r a=$x b=$y" >&2
        av+=("$x")
        bv+=("$y")
    done
    local ma mb hib=0 i
    ma=$(printf '%s\n' "${av[@]}" | median)
    mb=$(printf '%s\n' "${bv[@]}" | median)
    [[ $kind == http ]] && hib=1
    # The value is the median of the rounds' own ratios: the two runs of a round are
    # back to back, so a slow spell of the VM (single skynet runs spread 160-210 ms)
    # moves both; the ratio of the two columns' medians goes on stderr.
    local -a pv=()
    for ((i = 0; i < ${#av[@]}; i++)); do
        pv+=("$(pct "${av[i]}" "${bv[i]}" $hib)")
    done
    echo "median bench=$name workers=$w a=$ma b=$mb columns=$(pct "$ma" "$mb" $hib)%" >&2
    echo "bench=$name workers=$w value=$(printf '%s\n' "${pv[@]}" | median) unit=%"
}

for w in $WORKERS; do
    compare trace_overhead_skynet skynet "$w" "$BUILD_DIR" "WEFT_TRACE=" "$BUILD_DIR" "WEFT_TRACE=$TRACE_FILE"
    compare trace_overhead_http http "$w" "$BUILD_DIR" "WEFT_TRACE=" "$BUILD_DIR" "WEFT_TRACE=$TRACE_FILE"
    if [[ -n $BASE_BUILD ]]; then
        compare trace_off_cost_skynet skynet "$w" "$BASE_BUILD" "WEFT_TRACE=" "$BUILD_DIR" "WEFT_TRACE="
        compare trace_off_cost_http http "$w" "$BASE_BUILD" "WEFT_TRACE=" "$BUILD_DIR" "WEFT_TRACE="
    fi
    if [[ -x $GO_PEER ]]; then
        compare trace_overhead_skynet_go go_skynet "$w" - "TRACE=" - "TRACE=$TRACE_FILE"
    fi
done

#!/usr/bin/env bash
# Runs weft's micro-benchmarks (weft_micro) against the Go and Tokio peers, interleaved.
#
# Usage: bench/run_micro.sh [ROUNDS]        (default 3 rounds: 4-8 minutes on 2 vCPUs, longer when busy)
#
#   1. builds weft_micro (cmake Release) into $BUILD_DIR (default <repo>/build-bench);
#   2. finds the peers in $PEERS_DIR (default <repo>/../shared/peers/micro) and runs
#      their build.sh when bin/gobench or bin/tokio_micro is missing; without peers
#      only weft runs;
#   3. every round runs, for each benchmark and for workers 1 and 2, weft, Go and Tokio
#      one after the other (weft, go, tokio, weft, go, tokio, ...) so machine drift
#      spreads over all three; fanout_cpu runs once per round (it times 1 and 2
#      workers itself); every run is limited to 120 s (timeout);
#   4. writes bench/results/raw.txt (the programs' lines prefixed with
#      impl=... round=... busy=...), prints the median table with weft/best-peer
#      ratios and writes it to bench/results/summary.md.
#
# Environment:
#   BENCHES="pingpong yield"   only these (default: spawn_join yield pingpong skynet
#                              chan_mpmc idle_memory fanout_cpu)
#   WORKERS="1 2"              worker counts (default "1 2")
#   IMPLS="weft go tokio"      implementations to run (default all three)
#   BUILD_DIR, PEERS_DIR       see above
#   QUIET_PCT=25 QUIET_MAX=3   before each run wait up to QUIET_MAX s until the machine
#                              is under QUIET_PCT % busy (0.5 s samples; the figure is
#                              logged as busy=...); QUIET=0 skips sampling entirely
#   RUN_TIMEOUT=120            seconds per run
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
ROUNDS=${1:-3}
if ! [[ $ROUNDS =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [ROUNDS]" >&2
    exit 2
fi
BUILD_DIR=${BUILD_DIR:-$root/build-bench}
PEERS_DIR=${PEERS_DIR:-$root/../shared/peers/micro}
BENCHES=${BENCHES:-spawn_join yield pingpong skynet chan_mpmc idle_memory fanout_cpu}
WORKERS=${WORKERS:-1 2}
IMPLS=${IMPLS:-weft go tokio}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
QUIET=${QUIET:-1}
QUIET_PCT=${QUIET_PCT:-25}
QUIET_MAX=${QUIET_MAX:-3}
RESULTS=$here/results
RAW=$RESULTS/raw.txt
LOG=$RESULTS/run.log
PY=$(command -v python3 || true)

# ---------------------------------------------------------------- build weft
WEFT_BIN=$BUILD_DIR/bench/weft_micro
if [[ " $IMPLS " == *" weft "* ]]; then
echo "=== building weft_micro (Release) in $BUILD_DIR"
if ! cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON \
        -DWEFT_BUILD_TESTS=OFF >/dev/null ||
   ! cmake --build "$BUILD_DIR" --target weft_micro --parallel "$(nproc)"; then
    echo "run_micro.sh: building weft_micro failed" >&2
    exit 1
fi
[[ -x $WEFT_BIN ]] || { echo "run_micro.sh: $WEFT_BIN missing after the build" >&2; exit 1; }
fi

# ---------------------------------------------------------------- find the peers
GO_BIN= TOKIO_BIN=
if [[ -d $PEERS_DIR ]]; then
    PEERS_DIR=$(cd "$PEERS_DIR" && pwd)
    if [[ ! -x $PEERS_DIR/bin/gobench || ! -x $PEERS_DIR/bin/tokio_micro ]]; then
        echo "=== building the peers ($PEERS_DIR/build.sh)"
        "$PEERS_DIR/build.sh" || echo "note: the peers' build.sh failed; using what was built"
    fi
    [[ -x $PEERS_DIR/bin/gobench ]] && GO_BIN=$PEERS_DIR/bin/gobench
    [[ -x $PEERS_DIR/bin/tokio_micro ]] && TOKIO_BIN=$PEERS_DIR/bin/tokio_micro
    [[ $GO_BIN ]] || echo "note: no Go peer ($PEERS_DIR/bin/gobench); skipping Go"
    [[ $TOKIO_BIN ]] || echo "note: no Tokio peer ($PEERS_DIR/bin/tokio_micro); skipping Tokio"
else
    echo "note: peers not found at $PEERS_DIR; running weft only"
fi

mkdir -p "$RESULTS"
: >"$RAW"
: >"$LOG"
{
    echo "date: $(date -u +%FT%TZ)  rounds: $ROUNDS"
    echo "kernel: $(uname -r)  cpus: $(nproc)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "weft: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo uncommitted)  $WEFT_BIN"
    [[ $GO_BIN ]] && echo "go peer: $GO_BIN ($(go version 2>/dev/null || echo 'go not on PATH'))"
    [[ $TOKIO_BIN ]] && echo "tokio peer: $TOKIO_BIN"
} | tee "$RESULTS/versions.txt"

# ---------------------------------------------------------------- machine load
. "$here/machine_load.sh" # busy_pct, wait_quiet, BUSY

# run IMPL ROUND CMD... : one program run, its bench= lines prefixed into $RAW
run() {
    local impl=$1 round=$2
    shift 2
    local out err rc
    wait_quiet
    err=$(mktemp)
    out=$(timeout "$RUN_TIMEOUT" "$@" 2>"$err")
    rc=$?
    while IFS= read -r l; do
        [[ $l == bench=* ]] && echo "impl=$impl round=$round busy=$BUSY $l" | tee -a "$RAW"
    done <<<"$out"
    if ((rc != 0)); then
        local why="exit $rc"
        ((rc == 124)) && why="timeout ${RUN_TIMEOUT}s"
        ((rc > 128 && rc != 124)) && why="signal $((rc - 128))"
        echo "impl=$impl round=$round busy=$BUSY FAILED ($why): $* :: $(tail -n 1 "$err")" |
            tee -a "$RAW"
    fi
    if [[ -s $err ]]; then
        { echo "--- impl=$impl round=$round: $*"; cat "$err"; } >>"$LOG"
    fi
    rm -f "$err"
}

has_impl() { [[ " $IMPLS " == *" $1 "* ]]; }

run_three() { # BENCH WORKERS
    has_impl weft && run weft "$r" "$WEFT_BIN" "$1" "$2"
    has_impl go && [[ $GO_BIN ]] && run go "$r" "$GO_BIN" "$1" "$2"
    has_impl tokio && [[ $TOKIO_BIN ]] && run tokio "$r" "$TOKIO_BIN" "$1" "$2"
}

for r in $(seq 1 "$ROUNDS"); do
    echo "=== round $r of $ROUNDS"
    for b in $BENCHES; do
        if [[ $b == fanout_cpu ]]; then
            run_three fanout_cpu 0 # times 1 and 2 workers itself
            continue
        fi
        for w in $WORKERS; do run_three "$b" "$w"; done
    done
done

echo
if [[ -n $PY ]]; then
    "$PY" "$here/summarize_micro.py" "$RAW" | tee "$RESULTS/summary.md"
else
    echo "python3 not found: raw results in $RAW"
fi
[[ -s $LOG ]] && echo "(stderr of the runs: $LOG)"
if grep -q FAILED "$RAW"; then exit 1; fi
exit 0

#!/usr/bin/env bash
# TCP echo benchmark: examples/echo_server (weft) against the Tokio and Go echo peers
# (bench/peers/echo), all driven by the same neutral load generator (bench/echo_load.c).
#
#   bench/run_echo.sh [REPS]          (default 3 repetitions)
#
# Each repetition runs weft, tokio, go in turn (alternating, so slow drifts of the shared
# machine hit all three alike). One run: start the server with WORKERS worker threads on
# a free 127.0.0.1 port (the server binds port 0 and prints it), wait until it accepts,
# run `echo_load -c CONNS -d SECONDS` (64-byte messages, one in flight per connection),
# read the server's CPU time from /proc, then stop the server by its PID (SIGTERM,
# SIGKILL after 5 s).
#
# Output: bench/results/echo-raw.txt (raw lines, prefixed impl= rep= busy=),
#         bench/results/echo-summary.md (medians, weft/tokio and weft/go; summarize_echo.py)
#
# Environment:
#   BUILD_DIR=build-bench   weft build tree (Release; echo_server and echo_load are built)
#   WORKERS=2 CONNS=64 DURATION=5 (seconds) LOAD_THREADS=1 MSG_SIZE=64
#   IMPLS="weft tokio go"   which servers to run
#   TAG=                    suffix of the output files (TAG=-w1: echo-w1-raw.txt, ...), so a
#                           run with other settings keeps the default run's results
#   PEER_INSTALL=0          1: let bench/peers/echo/build.sh apt-get install what it needs
#   SERVER_MAX_S=60         hard cap on a server's life (timeout)
#   QUIET_PCT=25 QUIET_MAX=5  before each run wait up to QUIET_MAX s until the machine is
#                           under QUIET_PCT % busy (logged as busy=)
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
REPS=${1:-3}
if ! [[ $REPS =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [REPS]" >&2
    exit 2
fi
BUILD_DIR=${BUILD_DIR:-$root/build-bench}
WORKERS=${WORKERS:-2}
CONNS=${CONNS:-64}
DURATION=${DURATION:-5}
LOAD_THREADS=${LOAD_THREADS:-1}
MSG_SIZE=${MSG_SIZE:-64}
IMPLS=${IMPLS:-weft tokio go}
PEER_INSTALL=${PEER_INSTALL:-0}
SERVER_MAX_S=${SERVER_MAX_S:-60}
LOAD_MAX_S=$((DURATION + 30))
PEERS=$here/peers/echo
RESULTS=$here/results
TAG=${TAG:-}
if ! [[ $TAG =~ ^[A-Za-z0-9_.-]*$ ]]; then
    echo "run_echo.sh: TAG may hold only letters, digits, '_', '.', '-'" >&2
    exit 2
fi
RAW=$RESULTS/echo$TAG-raw.txt
LOG=$RESULTS/echo$TAG-run.log
SUMMARY=$RESULTS/echo$TAG-summary.md
VERSIONS=$RESULTS/echo$TAG-versions.txt

# ---------------------------------------------------------------- build
echo "=== building echo_server and echo_load (Release) in $BUILD_DIR"
timeout 900 cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_TESTS=OFF \
    -DWEFT_BUILD_BENCH=ON -DWEFT_BUILD_EXAMPLES=ON >/dev/null
timeout 900 cmake --build "$BUILD_DIR" --target echo_server echo_load --parallel "$(nproc)"
WEFT_BIN=$BUILD_DIR/examples/echo_server
LOAD_BIN=$BUILD_DIR/bench/echo_load
TOKIO_BIN=$PEERS/rust/target/release/echo-server
GO_BIN=$PEERS/go/echo-server

echo "=== building the echo peers ($PEERS/build.sh)"
peer_args=()
[[ $PEER_INSTALL == 1 ]] && peer_args=(--install)
timeout 900 "$PEERS/build.sh" "${peer_args[@]}" ||
    echo "note: the peers' build.sh failed; running what exists"

declare -A CMD
CMD[weft]="$WEFT_BIN -p 0 -w $WORKERS"
CMD[tokio]="$TOKIO_BIN --port 0 --threads $WORKERS"
CMD[go]="$GO_BIN -port 0 -threads $WORKERS"
run_impls=()
for impl in $IMPLS; do
    [[ -v CMD[$impl] ]] || { echo "run_echo.sh: unknown impl '$impl'" >&2; exit 2; }
    bin=${CMD[$impl]%% *}
    if [[ -x $bin ]]; then
        run_impls+=("$impl")
    else
        echo "note: $impl server $bin missing; skipping $impl"
    fi
done
((${#run_impls[@]})) || { echo "run_echo.sh: nothing to run" >&2; exit 1; }

mkdir -p "$RESULTS"
: >"$RAW"
: >"$LOG"
{
    echo "date: $(date -u +%FT%TZ)  reps: $REPS  workers: $WORKERS  conns: $CONNS  seconds: $DURATION  load threads: $LOAD_THREADS  msg: $MSG_SIZE B"
    echo "kernel: $(uname -r)  cpus: $(nproc)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "weft: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- runtime io sync include examples 2>/dev/null || echo ' (+ uncommitted changes)')"
    echo "go: $(go version 2>/dev/null || echo '?')  rust: $(rustc --version 2>/dev/null || echo '?'), tokio 1.24.2"
} | tee "$VERSIONS"

# ---------------------------------------------------------------- helpers
QUIET_PCT=${QUIET_PCT:-25}
QUIET_MAX=${QUIET_MAX:-5}
. "$here/machine_load.sh" # busy_pct, wait_quiet, BUSY

cpu_ticks() { # utime+stime of PID in clock ticks (all threads), or 0
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*") "} # fields after "(comm) "; utime and stime are fields 14 and 15
    read -r -a f <<<"$stat"
    echo $((f[11] + f[12]))
}

TPID='' SPID='' OUT=''
stop_server() {
    [[ -n $TPID ]] || return 0
    local pid=${SPID:-$TPID}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "note: server $pid ignored SIGTERM for 5 s; SIGKILL" | tee -a "$LOG"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    kill -TERM "$TPID" 2>/dev/null || true
    wait "$TPID" 2>/dev/null || true
    TPID='' SPID=''
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    stop_server
    if [[ -n $OUT ]]; then rm -f "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server IMPL -> sets PORT, TPID (the timeout wrapper), SPID (the server itself)
start_server() {
    local impl=$1
    OUT=$(mktemp /tmp/weft-echo-server.XXXXXX)
    # shellcheck disable=SC2086 # CMD entries are word lists without spaces in paths
    timeout -k 5 "$SERVER_MAX_S" ${CMD[$impl]} >"$OUT" 2>&1 &
    TPID=$!
    PORT=
    for _ in $(seq 100); do
        PORT=$(sed -n 's/^listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$OUT" | head -n 1)
        if [[ -n $PORT ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
            SPID=$(pgrep -P "$TPID" | head -n 1 || true) # the server under timeout
            return 0
        fi
        kill -0 "$TPID" 2>/dev/null || break
        sleep 0.1
    done
    echo "run_echo.sh: $impl server did not start: $(tail -n 3 "$OUT" | tr '\n' ' ')" | tee -a "$LOG" >&2
    stop_server
    return 1
}

# run_one IMPL REP: one server, one load; raw lines into $RAW
run_one() {
    local impl=$1 rep=$2 busy out rc=0 t1 hz
    wait_quiet
    busy=$BUSY
    if ! start_server "$impl"; then
        echo "impl=$impl rep=$rep busy=$busy FAILED (server did not start)" | tee -a "$RAW"
        return 0
    fi
    local spid=$SPID t0=0
    [[ -n $spid ]] && t0=$(cpu_ticks "$spid")
    out=$(timeout -k 5 "$LOAD_MAX_S" "$LOAD_BIN" -p "$PORT" -c "$CONNS" -t "$LOAD_THREADS" \
        -d "$DURATION" -s "$MSG_SIZE" -w "$WORKERS" 2>>"$LOG") || rc=$?
    t1=0
    [[ -n $spid ]] && t1=$(cpu_ticks "$spid")
    hz=$(getconf CLK_TCK)
    {
        echo "--- impl=$impl rep=$rep port=$PORT"
        cat "$OUT"
    } >>"$LOG"
    stop_server
    rm -f "$OUT"
    OUT=
    while IFS= read -r l; do
        [[ $l == bench=* ]] && echo "impl=$impl rep=$rep busy=$busy $l" | tee -a "$RAW"
    done <<<"$out"
    [[ -n $spid ]] && echo "impl=$impl rep=$rep busy=$busy bench=echo_server_cpu workers=$WORKERS value=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v s="$DURATION" 'BEGIN { printf "%.3f", t / hz / s }') unit=cpus" |
        tee -a "$RAW"
    if ((rc != 0)); then
        echo "impl=$impl rep=$rep busy=$busy FAILED (echo_load exit $rc)" | tee -a "$RAW"
    fi
}

# ---------------------------------------------------------------- run
for rep in $(seq 1 "$REPS"); do
    echo "=== repetition $rep of $REPS"
    for impl in "${run_impls[@]}"; do run_one "$impl" "$rep"; done
done

echo
if command -v python3 >/dev/null; then
    python3 "$here/summarize_echo.py" "$RAW" "$VERSIONS" | tee "$SUMMARY"
else
    echo "python3 not found: raw results in $RAW"
fi
if grep -q FAILED "$RAW"; then exit 1; fi
exit 0

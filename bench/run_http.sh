#!/usr/bin/env bash
# HTTP benchmarks: weft's server and client against nginx and Tokio+hyper, alternating.
#
#   bench/run_http.sh [REPS]          (default 3 repetitions)
#
# Per repetition (the order inside a pair swaps every repetition):
#   server  weft-httpd -w 2   vs nginx (worker_processes 1), each under wrk -t1 -c256 -d5s
#           (both started here on a free port, then run.sh with SERVER=none points wrk
#           at it); wrk's CPU time (/usr/bin/time) and the server's (/proc) are logged:
#           when wrk's single thread uses the whole run, it is the bottleneck
#   client  weft-fetch -n 100000 -c 256 URL   vs the Tokio+hyper peer
#           (peers/http/rust/target/release/fetch URL 100000 256), both against one nginx
#           (worker_processes 1) started for the pair; CPU time (user+sys) of each client
#           measured with /usr/bin/time
# The echo comparison is bench/run_echo.sh.
#
# Output: bench/results/http-raw.txt (raw lines), bench/results/http-summary.md
#         (medians and ratios, bench/summarize_http.py)
#
# Environment:
#   WEFT_HTTPD, WEFT_FETCH  the weft programs (default: BUILD_DIR/tools/..., then build/tools/...)
#   BUILD_DIR=build-bench   weft build tree tried first (it builds weft-httpd/weft-fetch
#                           there when tools/ has CMake targets for them)
#   PEERS_DIR=/work/shared/peers/http   nginx template, run.sh, the Tokio+hyper client
#   WRK_C=256 WRK_S=5 FETCH_N=100000 FETCH_C=256 HTTPD_WORKERS=2
#   FETCH_WORKERS=          weft-fetch -w (empty: its default, one per CPU)
#   CASES="server client"   which halves to run
#   SERVER_MAX_S=120 LOAD_MAX_S=60   hard caps (timeout) on a server's / a load's life
#   QUIET_PCT=25 QUIET_MAX=5  before each run wait up to QUIET_MAX s until the machine is
#                           under QUIET_PCT % busy (logged as busy=)
# Traffic goes to 127.0.0.1 only.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
REPS=${1:-3}
if ! [[ $REPS =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [REPS]" >&2
    exit 2
fi
BUILD_DIR=${BUILD_DIR:-$root/build-bench}
PEERS_DIR=${PEERS_DIR:-/work/shared/peers/http}
WRK_C=${WRK_C:-256}
WRK_S=${WRK_S:-5}
FETCH_N=${FETCH_N:-100000}
FETCH_C=${FETCH_C:-256}
HTTPD_WORKERS=${HTTPD_WORKERS:-2}
FETCH_WORKERS=${FETCH_WORKERS:-}
CASES=${CASES:-server client}
SERVER_MAX_S=${SERVER_MAX_S:-120}
LOAD_MAX_S=${LOAD_MAX_S:-60}
RESULTS=$here/results
RAW=$RESULTS/http-raw.txt
LOG=$RESULTS/http-run.log
SUMMARY=$RESULTS/http-summary.md
export SERVER_MAX_S LOAD_MAX_S

# ---------------------------------------------------------------- find the programs
# Build weft-httpd / weft-fetch in BUILD_DIR if the tree has targets for them; a failing
# build (colleagues' work in progress) is not fatal: any existing binary is used.
if timeout 900 cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DWEFT_BUILD_TESTS=OFF >/dev/null 2>&1; then
    for t in weft-httpd weft-fetch; do
        if timeout 60 cmake --build "$BUILD_DIR" --target help 2>/dev/null | grep -q "\\.\\.\\. $t\$"; then
            echo "=== building $t in $BUILD_DIR"
            timeout 900 cmake --build "$BUILD_DIR" --target "$t" --parallel "$(nproc)" >/dev/null ||
                echo "note: building $t in $BUILD_DIR failed; looking for another build"
        fi
    done
else
    echo "note: configuring $BUILD_DIR failed; looking for existing weft-httpd/weft-fetch builds"
fi
find_tool() { # NAME: first executable among the usual build trees
    local d
    for d in "$BUILD_DIR" "$root/build" "$root/build/release"; do
        [[ -x $d/tools/$1 ]] && { echo "$d/tools/$1"; return 0; }
    done
    return 1
}
WEFT_HTTPD=${WEFT_HTTPD:-$(find_tool weft-httpd || true)}
WEFT_FETCH=${WEFT_FETCH:-$(find_tool weft-fetch || true)}
TOKIO_FETCH=$PEERS_DIR/rust/target/release/fetch
RUN_SH=$PEERS_DIR/run.sh

missing=()
# Only what the chosen CASES use: the server half needs no client peer, and so on.
if [[ " $CASES " == *" client "* ]]; then
    [[ -n $WEFT_FETCH && -x $WEFT_FETCH ]] || missing+=("weft-fetch (expected at $BUILD_DIR/tools or $root/build/tools; or set WEFT_FETCH)")
    [[ -x $TOKIO_FETCH ]] || missing+=("$TOKIO_FETCH (cd $PEERS_DIR && ./build.sh)")
    [[ -x /usr/bin/time ]] || missing+=("/usr/bin/time (apt-get install time)")
fi
if [[ " $CASES " == *" server "* ]]; then
    [[ -n $WEFT_HTTPD && -x $WEFT_HTTPD ]] || missing+=("weft-httpd (expected at $BUILD_DIR/tools or $root/build/tools; or set WEFT_HTTPD)")
    [[ -x /usr/bin/time ]] || missing+=("/usr/bin/time (apt-get install time)")
    command -v wrk >/dev/null || missing+=("wrk (cd $PEERS_DIR && ./build.sh --install)")
fi
[[ -x $RUN_SH ]] || missing+=("$RUN_SH")
command -v nginx >/dev/null || missing+=("nginx (cd $PEERS_DIR && ./build.sh --install)")
if ((${#missing[@]})); then
    echo "run_http.sh: cannot run, missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
fi

mkdir -p "$RESULTS"
: >"$RAW"
: >"$LOG"
{
    echo "date: $(date -u +%FT%TZ)  reps: $REPS  wrk -t1 -c$WRK_C -d${WRK_S}s  fetch -n $FETCH_N -c $FETCH_C  weft-httpd -w $HTTPD_WORKERS"
    echo "kernel: $(uname -r)  cpus: $(nproc)  cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "weft: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- runtime io sync include tools 2>/dev/null || echo ' (+ uncommitted changes)')  $WEFT_HTTPD  $WEFT_FETCH"
    echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //')  wrk: $(wrk -v 2>&1 | head -n 1 | awk '{print $2}')  tokio fetch: $TOKIO_FETCH"
} | tee "$RESULTS/http-versions.txt"

# ---------------------------------------------------------------- helpers
QUIET_PCT=${QUIET_PCT:-25}
QUIET_MAX=${QUIET_MAX:-5}
. "$here/machine_load.sh" # busy_pct, wait_quiet, BUSY

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A server started here: TPID = its timeout wrapper, SPID = the server, SDIR = temp dir.
TPID='' SPID='' SDIR=''
start_server() { # PORT CMD...
    local port=$1
    shift
    if port_open "$port"; then
        echo "run_http.sh: port $port already in use" | tee -a "$LOG" >&2
        return 1
    fi
    timeout -k 5 "$SERVER_MAX_S" "$@" >>"$LOG" 2>&1 &
    TPID=$!
    SPID=''
    for _ in $(seq 100); do
        if port_open "$port"; then
            SPID=$(pgrep -P "$TPID" | head -n 1 || true) # the server under timeout
            return 0
        fi
        kill -0 "$TPID" 2>/dev/null || break
        sleep 0.1
    done
    echo "run_http.sh: server did not listen on $port: $*" | tee -a "$LOG" >&2
    stop_server
    return 1
}
stop_server() { # SIGTERM by PID, SIGKILL after 5 s
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
    if [[ -n $SDIR ]]; then
        rm -rf "$SDIR"
        SDIR=''
    fi
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { stop_server; }
trap cleanup EXIT
trap 'exit 130' INT TERM

start_nginx1() { # PORT: nginx with worker_processes 1, private prefix under /tmp
    SDIR=$(mktemp -d /tmp/weft-bench-nginx.XXXXXX)
    chmod 755 "$SDIR"
    sed -e 's/@WORKERS@/1/' -e "s/@PORT@/$1/" "$PEERS_DIR/nginx/nginx.conf.in" >"$SDIR/nginx.conf"
    start_server "$1" nginx -p "$SDIR/" -c "$SDIR/nginx.conf" -e "$SDIR/error.log"
}

emit() { # PREFIX LINE: one raw line
    echo "$1 $2" | tee -a "$RAW"
}

# ---------------------------------------------------------------- (a) servers under wrk
# Both servers are started here and loaded through run.sh none, whose wrk runs under
# /usr/bin/time: the load generator's CPU (load_cpu_s) is logged with the server's
# (server_cpu_s, from /proc, the nginx worker included). wrk -t1 is one thread: at ~WRK_S
# seconds of CPU it is the bottleneck, and the servers' req/s measure wrk, not them.
proc_cpu_ticks() { # PID...: user+sys clock ticks of these processes and their children
    local p t=0 c
    for p in "$@"; do
        for c in "$p" $(pgrep -P "$p" || true); do
            [[ -r /proc/$c/stat ]] || continue
            # fields 14/15 (utime/stime) counted after the ")" that ends the comm field
            t=$((t + $(sed 's/^.*) //' "/proc/$c/stat" | awk '{print $12 + $13}')))
        done
    done
    echo "$t"
}

wrk_one() { # REP IMPL: loads the server started by start_server on $port
    local rep=$1 impl=$2 line rc=0 tf cpu s0 s1 hz
    hz=$(getconf CLK_TCK)
    tf=$(mktemp /tmp/weft-bench-time.XXXXXX)
    s0=$(proc_cpu_ticks "$SPID")
    line=$(cd "$PEERS_DIR" && PORT=$port /usr/bin/time -o "$tf" -f '%U %S' ./run.sh none wrk "$WRK_C" "$WRK_S" 2>>"$LOG") || rc=$?
    s1=$(proc_cpu_ticks "$SPID")
    cpu=$(tail -n 1 "$tf" 2>/dev/null || true)
    rm -f "$tf"
    if ! kill -0 "$SPID" 2>/dev/null; then
        ((rc != 0)) || rc=99
        echo "$impl exited during the load" | tee -a "$LOG" >&2
    fi
    stop_server
    if ((rc == 0)) && [[ $line == server=* && $cpu =~ ^([0-9.]+)\ ([0-9.]+)$ ]]; then
        local load_cpu server_cpu
        load_cpu=$(awk -v u="${BASH_REMATCH[1]}" -v s="${BASH_REMATCH[2]}" 'BEGIN{printf "%.2f", u + s}')
        server_cpu=$(awk -v d=$((s1 - s0)) -v hz="$hz" 'BEGIN{printf "%.2f", d / hz}')
        emit "rep=$rep case=server impl=$impl busy=$busy load_cpu_s=$load_cpu server_cpu_s=$server_cpu" "${line#* load=wrk }"
    else
        emit "rep=$rep case=server impl=$impl busy=$busy" "FAILED (wrk against $impl rc=$rc)"
    fi
}

wrk_nginx() { # REP
    local busy port
    wait_quiet
    busy=$BUSY
    port=$(free_port)
    if ! start_nginx1 "$port"; then
        emit "rep=$1 case=server impl=nginx1 busy=$busy" "FAILED (nginx did not start)"
        return 0
    fi
    wrk_one "$1" nginx1
}

wrk_weft() { # REP
    local busy port
    wait_quiet
    busy=$BUSY
    port=$(free_port)
    if ! start_server "$port" "$WEFT_HTTPD" -p "$port" -w "$HTTPD_WORKERS"; then
        emit "rep=$1 case=server impl=weft-httpd busy=$busy" "FAILED (weft-httpd did not start)"
        return 0
    fi
    wrk_one "$1" weft-httpd
}

# ---------------------------------------------------------------- (b) clients against nginx
fetch_one() { # REP IMPL CMD...: runs one client under /usr/bin/time
    local rep=$1 impl=$2 busy out rc=0 tf cpu last tail=''
    shift 2
    wait_quiet
    busy=$BUSY
    tf=$(mktemp /tmp/weft-bench-time.XXXXXX)
    out=$(timeout -k 5 "$LOAD_MAX_S" /usr/bin/time -o "$tf" -f '%U %S' "$@" 2>>"$LOG") || rc=$?
    cpu=$(tail -n 1 "$tf" 2>/dev/null || true)
    rm -f "$tf"
    printf '%s\n' "$out" >>"$LOG"
    last=$(printf '%s\n' "$out" | grep 'requests=' | tail -n 1 || true)
    ((rc == 0)) || tail=" exit=$rc" # e.g. the Tokio client exits 1 when errors > 0
    if [[ $cpu =~ ^([0-9.]+)\ ([0-9.]+)$ && -n $last ]]; then
        emit "rep=$rep case=client impl=$impl busy=$busy cpu_user_s=${BASH_REMATCH[1]} cpu_sys_s=${BASH_REMATCH[2]}" \
            "$last$tail"
    else
        emit "rep=$rep case=client impl=$impl busy=$busy" "FAILED (exit $rc; time: '$cpu'): $*"
    fi
}

fetch_pair() { # REP
    local rep=$1 port url weft_cmd
    port=$(free_port)
    url="http://127.0.0.1:$port/"
    if ! start_nginx1 "$port"; then
        emit "rep=$rep case=client impl=nginx1" "FAILED (nginx did not start)"
        return 0
    fi
    weft_cmd=("$WEFT_FETCH" -n "$FETCH_N" -c "$FETCH_C")
    [[ -n $FETCH_WORKERS ]] && weft_cmd+=(-w "$FETCH_WORKERS")
    weft_cmd+=("$url")
    if ((rep % 2)); then
        fetch_one "$rep" weft-fetch "${weft_cmd[@]}"
        fetch_one "$rep" tokio-hyper "$TOKIO_FETCH" "$url" "$FETCH_N" "$FETCH_C"
    else
        fetch_one "$rep" tokio-hyper "$TOKIO_FETCH" "$url" "$FETCH_N" "$FETCH_C"
        fetch_one "$rep" weft-fetch "${weft_cmd[@]}"
    fi
    stop_server
}

# ---------------------------------------------------------------- run
for rep in $(seq 1 "$REPS"); do
    echo "=== repetition $rep of $REPS"
    if [[ " $CASES " == *" server "* ]]; then
        if ((rep % 2)); then wrk_weft "$rep"; wrk_nginx "$rep"; else wrk_nginx "$rep"; wrk_weft "$rep"; fi
    fi
    if [[ " $CASES " == *" client "* ]]; then fetch_pair "$rep"; fi
done

echo
python3 "$here/summarize_http.py" "$RAW" "$RESULTS/http-versions.txt" | tee "$SUMMARY"
if grep -q FAILED "$RAW"; then exit 1; fi
exit 0

#!/usr/bin/env bash
# Contended mutex benchmark: weft (weft_micro mutex_contended) against Go's sync.Mutex
# and Tokio's tokio::sync::Mutex (bench/peers/sync), 64 tasks x 100k lock/inc/unlock.
#
# Usage: bench/run_sync.sh [REPS]     (default 3)
#
#   1. builds weft_micro (Release) into $BUILD_DIR (default <repo>/build-bench) and the
#      peers with bench/peers/sync/build.sh when their binaries are missing;
#   2. each repetition runs, for workers 1 and 2, weft (weft_mutex in its default mode,
#      then the strict FIFO one), Go and Tokio one after the other so machine drift spreads
#      over all of them; the load average is logged per run;
#   3. writes the raw lines to bench/results/sync-raw.txt and the medians [min-max] with
#      weft / best-peer ratios (target >= 1.5) to bench/results/sync-summary.md.
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
REPS=${1:-3}
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [REPS]" >&2; exit 2; }
BUILD_DIR=${BUILD_DIR:-$root/build-bench}
PEERS=$here/peers/sync
RESULTS=$here/results
RAW=$RESULTS/sync-raw.txt
SUMMARY=$RESULTS/sync-summary.md
WEFT_BIN=$BUILD_DIR/bench/weft_micro
GO_BIN=$PEERS/go/sync-bench
TOKIO_BIN=$PEERS/rust/target/release/sync-bench

echo "=== building weft_micro (Release) in $BUILD_DIR"
cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON \
    -DWEFT_BUILD_TESTS=OFF >/dev/null && cmake --build "$BUILD_DIR" --target weft_micro -j2 >/dev/null ||
    { echo "run_sync.sh: building weft_micro failed" >&2; exit 1; }
if [[ ! -x $GO_BIN || ! -x $TOKIO_BIN ]]; then
    echo "=== building the peers"
    "$PEERS/build.sh" || echo "note: peers' build.sh failed; running what exists"
fi

mkdir -p "$RESULTS"
: >"$RAW"
for rep in $(seq 1 "$REPS"); do
    for w in 1 2; do
        for impl in weft weft_fifo go tokio; do
            case $impl in
            weft) cmd=("$WEFT_BIN" mutex_contended "$w") ;;
            weft_fifo) cmd=("$WEFT_BIN" mutex_contended_fifo "$w") ;;
            go) cmd=("$GO_BIN" "$w") ;;
            tokio) cmd=("$TOKIO_BIN" "$w") ;;
            esac
            [[ -x ${cmd[0]} ]] || continue
            load=$(cut -d' ' -f1 /proc/loadavg)
            line=$(timeout 120 "${cmd[@]}" | grep '^bench=') || line="bench=mutex_contended workers=$w value=nan unit=ops/s"
            line=${line/bench=mutex_contended_fifo /bench=mutex_contended }
            echo "impl=$impl rep=$rep load=$load $line" | tee -a "$RAW"
        done
    done
done

python3 - "$RAW" "$SUMMARY" "$REPS" <<'PY'
import re, statistics, sys, subprocess, datetime
raw, out, reps = sys.argv[1], sys.argv[2], sys.argv[3]
vals, loads = {}, []
for line in open(raw):
    kv = dict(re.findall(r'(\w+)=(\S+)', line))
    if kv.get('value', 'nan') == 'nan':
        continue
    vals.setdefault((int(kv['workers']), kv['impl']), []).append(float(kv['value']))
    loads.append(float(kv['load']))
def fmt(v): return f"{v/1e6:.1f}M"
rows = ["| weft mutex | W | unit | weft | go | tokio | best peer | weft/best | target 1.5x |",
        "|---|---|---|---|---|---|---|---|---|"]
for mode, wimpl in (("default (Go's design)", "weft"), ("strict FIFO", "weft_fifo")):
  for w in (1, 2):
    med = {}
    cells = []
    for impl in (wimpl, "go", "tokio"):
        v = vals.get((w, impl))
        if v:
            med[impl] = statistics.median(v)
            cells.append(f"{fmt(med[impl])} [{fmt(min(v))}–{fmt(max(v))}]")
        else:
            cells.append("—")
    peers = {k: m for k, m in med.items() if k in ("go", "tokio")}
    if peers and wimpl in med:
        best = max(peers, key=peers.get)
        r = med[wimpl] / peers[best]
        tail = [f"{best} {fmt(peers[best])}", f"{r:.2f}", "met" if r >= 1.5 else "not met"]
    else:
        tail = ["—", "—", "—"]
    rows.append(f"| {mode} | {w} | ops/s | " + " | ".join(cells + tail) + " |")
try:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
except Exception:
    rev = "?"
note = (f"\nmedian [min–max] of {reps} repetitions (weft, go, tokio alternated in each); "
        f"weft {rev}, {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ}; load average during the runs "
        f"{min(loads):.1f}–{max(loads):.1f} on 2 vCPUs (other jobs were running).\n"
        "64 tasks x 100k lock/increment/unlock; ops/s = lock+unlock pairs per second, higher is better.\n"
        "default: weft_mutex (running tasks may barge; a waiter starved 1 ms gets a hand-off,\n"
        "Go's design); strict FIFO: weft_mutex_init_fifo (unlock hands the mutex to the first\n"
        "waiter). Go: sync.Mutex, GOMAXPROCS=W; Tokio:\n"
        "tokio::sync::Mutex (fair, FIFO) on a multi-thread runtime with W workers.\n")
text = "# Contended mutex (bench/run_sync.sh)\n\n" + "\n".join(rows) + "\n" + note
open(out, "w").write(text)
print(text)
PY

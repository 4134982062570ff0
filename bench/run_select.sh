#!/usr/bin/env bash
# select over 4 channels: weft (weft_micro select4) against Go's select (bench/peers/select),
# alternating the two within every repetition so machine drift hits both alike.
#
# Usage: bench/run_select.sh [REPS]      (default 3; about 10 s per repetition)
#
#   1. builds weft_micro (Release) into $BUILD_DIR (default <repo>/build-bench) and the Go
#      peer with bench/peers/select/build.sh when it is missing;
#   2. each repetition runs, for WORKERS (default "1 2"), weft then Go;
#   3. writes bench/results/select-raw.txt (lines prefixed impl=... rep=...) and the
#      median table with weft/Go ratios to bench/results/select-summary.md.
set -uo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
root=$(cd "$here/.." && pwd)
REPS=${1:-3}
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [REPS]" >&2; exit 2; }
BUILD_DIR=${BUILD_DIR:-$root/build-bench}
WORKERS=${WORKERS:-1 2}
WEFT_BIN=$BUILD_DIR/bench/weft_micro
GO_BIN=$here/peers/select/go/select-bench
RESULTS=$here/results
RAW=$RESULTS/select-raw.txt

cmake -S "$root" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON \
    -DWEFT_BUILD_TESTS=OFF >/dev/null &&
    cmake --build "$BUILD_DIR" --target weft_micro --parallel 2 >/dev/null ||
    { echo "run_select.sh: building weft_micro failed" >&2; exit 1; }
[[ -x $GO_BIN ]] || "$here/peers/select/build.sh" || { echo "run_select.sh: Go peer build failed" >&2; exit 1; }

mkdir -p "$RESULTS"
: >"$RAW"
run() { # IMPL REP CMD...
    local impl=$1 rep=$2 out
    shift 2
    if ! out=$(timeout 120 "$@"); then
        echo "impl=$impl rep=$rep FAILED: $*" | tee -a "$RAW"
        return
    fi
    grep '^bench=' <<<"$out" | sed "s/^/impl=$impl rep=$rep load=$(cut -d' ' -f1 /proc/loadavg) /" | tee -a "$RAW"
}
for r in $(seq 1 "$REPS"); do
    for w in $WORKERS; do
        run weft "$r" "$WEFT_BIN" select4 "$w"
        run go "$r" "$GO_BIN" "$w"
    done
done

python3 - "$RAW" "$REPS" <<'PY' | tee "$RESULTS/select-summary.md"
import re, statistics, sys, subprocess, datetime
raw, reps = sys.argv[1], sys.argv[2]
vals, loads, byrep = {}, [], {}
for line in open(raw):
    m = re.search(r'impl=(\S+) rep=(\S+) load=(\S+) bench=select4 workers=(\d+) value=(\S+)', line)
    if m:
        vals.setdefault((m.group(4), m.group(1)), []).append(float(m.group(5)))
        byrep[(m.group(4), m.group(2), m.group(1))] = float(m.group(5))
        loads.append(float(m.group(3)))
print("# select over 4 channels: weft vs Go\n")
print("Workload (bench/micro_select.c, bench/peers/select/go/main.go): 4 producers each send")
print("1,000,000 uint64 on its own channel of capacity 64 and close it; one consumer selects")
print("over the 4 receives until all are closed. ops/s = selects that received, per second.\n")
print(f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {reps} repetitions (weft and Go alternated), "
      f"1-min load average during the runs {min(loads, default=0):.1f}..{max(loads, default=0):.1f} "
      "(shared 2-vCPU VM).\n")
print("| workers | weft ops/s (median) | Go ops/s (median) | weft / Go | weft runs | Go runs |")
print("|---|---|---|---|---|---|")
for w in sorted({k[0] for k in vals}, key=int):
    a, b = vals.get((w, "weft"), []), vals.get((w, "go"), [])
    if not a or not b:
        continue
    ma, mb = statistics.median(a), statistics.median(b)
    fmt = lambda xs: " ".join(f"{x/1e6:.1f}M" for x in xs)
    print(f"| {w} | {ma/1e6:.2f}M | {mb/1e6:.2f}M | {ma/mb:.2f}x | {fmt(a)} | {fmt(b)} |")
# Each weft run against the Go run right after it: the VM has phases of seconds in which
# lines between the vCPUs are slow (W=2 halves for both), so pairs compare within one.
print("\n| workers | weft / Go per repetition: median | min | repetitions below 1.5 |")
print("|---|---|---|---|")
for w in sorted({k[0] for k in vals}, key=int):
    rs = [byrep[(w, r, "weft")] / byrep[(w, r, "go")] for (ww, r, i) in byrep
          if ww == w and i == "weft" and (w, r, "go") in byrep]
    if rs:
        print(f"| {w} | {statistics.median(rs):.2f} | {min(rs):.2f} | {sum(x < 1.5 for x in rs)} of {len(rs)} |")
PY

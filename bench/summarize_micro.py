#!/usr/bin/env python3
"""Median table of bench/run_micro.sh's raw lines, with weft / best peer.

Input lines: impl=I round=R busy=B bench=NAME workers=W value=V unit=U
Per (bench, workers): median [min-max] per impl, the best peer (the faster of Go and
Tokio: lower value, or higher for Mmsg_per_s and speedup_x) and weft/best. The ratio is
always weft's median divided by the best peer's: for "lower is better" rows a ratio
below 1 means weft wins, for "higher is better" rows a ratio above 1 does.

Usage: summarize_micro.py [bench/results/raw.txt]
"""
import statistics
import sys
from collections import defaultdict

from summary_fmt import fmt as _fmt


def fmt(x):
    return _fmt(x, thousands=False)  # the micro tables print plain digits


HIGHER_BETTER = {"Mmsg_per_s", "speedup_x"}
PEERS = ("go", "tokio")
BENCH_ORDER = ["spawn_join", "yield", "yield_switch", "pingpong", "skynet", "chan_mpmc",
               "idle_memory", "idle_memory_hwm", "fanout_cpu_w1", "fanout_cpu_w2",
               "fanout_cpu"]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/raw.txt"
    vals = defaultdict(list)  # (bench, workers, impl) -> values
    units = {}
    impls = []
    fails = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if "FAILED" in line:
                fails.append(line)
                continue
            try:
                kv = dict(p.split("=", 1) for p in line.split())
                key = (kv["bench"], int(kv["workers"]), kv["impl"])
                vals[key].append(float(kv["value"]))
            except (ValueError, KeyError):
                fails.append("unparsed: " + line)
                continue
            units[(kv["bench"], int(kv["workers"]))] = kv["unit"]
            if kv["impl"] not in impls:
                impls.append(kv["impl"])
    order = [i for i in ("weft",) + PEERS if i in impls] + \
        [i for i in impls if i not in ("weft",) + PEERS]

    def rank(b):
        return (BENCH_ORDER.index(b) if b in BENCH_ORDER else len(BENCH_ORDER), b)

    rows = sorted(units, key=lambda k: (rank(k[0]), k[1]))
    print("| bench | W | unit | better | " + " | ".join(order) +
          " | best peer | weft/best | verdict |")
    print("|---|---|---|---|" + "---|" * len(order) + "---|---|---|")
    for bench, w in rows:
        unit = units[(bench, w)]
        higher = unit in HIGHER_BETTER
        med = {}
        cells = []
        for impl in order:
            v = vals.get((bench, w, impl))
            if not v:
                cells.append("—")
                continue
            med[impl] = statistics.median(v)
            cells.append(f"{fmt(med[impl])} [{fmt(min(v))}–{fmt(max(v))}]"
                         if len(v) > 1 else fmt(med[impl]))
        peers = [p for p in PEERS if p in med]
        best = ratio = verdict = "—"
        if peers:
            bp = (max if higher else min)(peers, key=lambda p: med[p])
            best = f"{bp} {fmt(med[bp])}"
            if "weft" in med and med[bp] != 0:
                r = med["weft"] / med[bp]
                ratio = f"{r:.2f}"
                wins = r > 1 if higher else r < 1
                verdict = "weft" if wins else ("tie" if r == 1 else bp)
        print(f"| {bench} | {w} | {unit} | {'higher' if higher else 'lower'} | " +
              " | ".join(cells) + f" | {best} | {ratio} | {verdict} |")
    runs = max((len(v) for v in vals.values()), default=0)
    print(f"\nmedian [min–max] of up to {runs} runs; weft/best = weft median / best peer "
          "median (lower-better rows: < 1 means weft is faster; higher-better rows: > 1 "
          "means weft is better)")
    for f in fails:
        print(f"\nFAILED: {f}")



if __name__ == "__main__":
    main()

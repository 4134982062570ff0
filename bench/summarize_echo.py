#!/usr/bin/env python3
"""Median table of bench/run_echo.sh's raw lines (echo servers: weft vs Tokio vs Go).

Input lines (bench/results/echo-raw.txt):
  impl=I rep=R busy=B bench=echo_rtt workers=W value=V unit=msg/s
  impl=I rep=R busy=B bench=echo_latency workers=W conns=C p50_us=A p99_us=B max_us=M ...
  impl=I rep=R busy=B bench=echo_server_cpu workers=W value=V unit=cpus
  impl=I rep=R busy=B FAILED (...)

Prints a markdown table: per metric the median [min-max] per implementation and the
ratios weft/tokio and weft/go, then whether the target (weft >= Tokio in msg/s) is met.
An optional second argument is a versions file whose lines are printed under the table.

Usage: summarize_echo.py [bench/results/echo-raw.txt [versions.txt]]
"""
import statistics
import sys
from collections import defaultdict

from summary_fmt import fmt

IMPLS = ("weft", "tokio", "go")
# (key, label, higher is better)
METRICS = [
    ("msgs", "throughput (msg/s)", True),
    ("p50", "latency p50 (µs)", False),
    ("p99", "latency p99 (µs)", False),
    ("cpus", "server CPU (cores busy)", False),
    ("cpu_us", "server CPU per message (µs)", False),
]



def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/echo-raw.txt"
    vals = defaultdict(lambda: defaultdict(list))  # impl -> metric -> values
    per_run = defaultdict(dict)  # (impl, rep) -> metric -> value
    fails, meta = [], {}
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
                impl, rep, bench = kv["impl"], kv["rep"], kv["bench"]
                run = per_run[(impl, rep)]
                if bench == "echo_rtt":
                    run["msgs"] = float(kv["value"])
                elif bench == "echo_latency":
                    run["p50"] = float(kv["p50_us"])
                    run["p99"] = float(kv["p99_us"])
                    meta["conns"] = kv.get("conns", "?")
                elif bench == "echo_server_cpu":
                    run["cpus"] = float(kv["value"])
                meta["workers"] = kv.get("workers", "?")
            except (KeyError, ValueError):
                fails.append("unparsed: " + line)
    for (impl, _), run in per_run.items():
        if run.get("msgs") and "cpus" in run:
            run["cpu_us"] = run["cpus"] / run["msgs"] * 1e6
        for k, v in run.items():
            vals[impl][k].append(v)

    order = [i for i in IMPLS if i in vals] + sorted(i for i in vals if i not in IMPLS)
    med = {i: {k: statistics.median(v) for k, v in vals[i].items() if v} for i in order}
    runs = max((len(v) for i in vals for v in vals[i].values()), default=0)

    print(f"### TCP echo, {meta.get('conns', '?')} connections, 64-byte messages, "
          f"{meta.get('workers', '?')} server threads\n")
    ratio_cols = [p for p in ("tokio", "go") if p in med and "weft" in med]
    print("| metric | better | " + " | ".join(order) + " | " +
          " | ".join(f"weft/{p}" for p in ratio_cols) + " |")
    print("|---|---|" + "---|" * (len(order) + len(ratio_cols)))
    for key, label, higher in METRICS:
        if not any(key in med[i] for i in order):
            continue
        cells = []
        for i in order:
            v = vals[i].get(key)
            if not v:
                cells.append("—")
            elif len(v) > 1:
                cells.append(f"{fmt(med[i][key])} [{fmt(min(v))}–{fmt(max(v))}]")
            else:
                cells.append(fmt(v[0]))
        ratios = []
        for p in ratio_cols:
            a, b = med["weft"].get(key), med[p].get(key)
            ratios.append(f"{a / b:.2f}" if a is not None and b else "—")
        print(f"| {label} | {'higher' if higher else 'lower'} | " + " | ".join(cells) +
              " | " + " | ".join(ratios) + " |")
    print(f"\nmedian [min–max] of up to {runs} runs, implementations alternating within "
          "each repetition; load: bench/echo_load (1 epoll thread, closed loop, one "
          "message in flight per connection) on the same machine.")
    w, t = med.get("weft", {}).get("msgs"), med.get("tokio", {}).get("msgs")
    if w and t:
        print(f"\nTarget \"echo server, 64 connections ≥ the Tokio peer\": weft/tokio = "
              f"{w / t:.2f} → {'met' if w >= t else 'not met'} in this run.")
    if len(sys.argv) > 2:
        try:
            with open(sys.argv[2]) as f:
                print("\n```\n" + f.read().rstrip() + "\n```")
        except OSError:
            pass
    for line in fails:
        print(f"\nFAILED: {line}")


if __name__ == "__main__":
    main()

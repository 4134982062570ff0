#!/usr/bin/env python3
"""Median tables of bench/run_http.sh's raw lines: weft-httpd vs nginx, weft-fetch vs Tokio.

Input lines (bench/results/http-raw.txt), key=value words:
  rep=R case=server impl=weft-httpd|nginx1 busy=B load_cpu_s=L server_cpu_s=S requests=N
      ... req_per_s=R p50_us=A p99_us=B errors=E
  rep=R case=client impl=weft-fetch|tokio-hyper busy=B cpu_user_s=U cpu_sys_s=S requests=N
      ... req_per_s=R p50_us=A p99_us=B ...
  rep=R case=... impl=... FAILED (...)

Per case: median [min-max] per implementation of req/s, p50, p99 (µs), errors; for
servers the load generator's CPU time (wrk, user+sys) and the server's CPU per request;
for clients, CPU time (user+sys) per request in µs; then the ratios
  weft-httpd / nginx1 (req/s), weft-fetch / tokio-hyper (req/s and CPU µs per request).
An optional second argument is a versions file printed under the tables.

Usage: summarize_http.py [bench/results/http-raw.txt [versions.txt]]
"""
import statistics
import sys
from collections import defaultdict

from summary_fmt import fmt

CASES = {
    "server": ("servers under wrk", ("weft-httpd", "nginx1")),
    "client": ("fetch clients against nginx (worker_processes 1)", ("weft-fetch", "tokio-hyper")),
}
# (key, label, higher is better)
METRICS = [
    ("req_per_s", "req/s", True),
    ("p50_us", "latency p50 (µs)", False),
    ("p99_us", "latency p99 (µs)", False),
    ("errors", "errors", False),
    ("load_cpu_s", "wrk CPU user+sys (s; the run's length = one saturated thread)", False),
    ("server_cpu_us_per_req", "server CPU per request (µs)", False),
    ("cpu_s", "client CPU user+sys (s)", False),
    ("cpu_us_per_req", "client CPU per request (µs)", False),
]



def parse(path):
    vals = defaultdict(lambda: defaultdict(list))  # (case, impl) -> metric -> values
    fails = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if "FAILED" in line:
                fails.append(line)
                continue
            kv = {}
            for word in line.split():
                if "=" in word:
                    k, v = word.split("=", 1)
                    kv[k] = v
            try:
                key = (kv["case"], kv["impl"])
                got = {k: float(kv[k]) for k in ("req_per_s", "p50_us", "p99_us")}
                got["errors"] = float(kv.get("errors", 0))
                if "load_cpu_s" in kv:
                    got["load_cpu_s"] = float(kv["load_cpu_s"])
                    n = float(kv["requests"])
                    if n > 0:
                        got["server_cpu_us_per_req"] = float(kv["server_cpu_s"]) / n * 1e6
                if "cpu_user_s" in kv:
                    cpu = float(kv["cpu_user_s"]) + float(kv["cpu_sys_s"])
                    got["cpu_s"] = cpu
                    n = float(kv.get("ok") or kv["requests"])
                    if n > 0:
                        got["cpu_us_per_req"] = cpu / n * 1e6
            except (KeyError, ValueError):
                fails.append("unparsed: " + line)
                continue
            for k, v in got.items():
                vals[key][k].append(v)
    return vals, fails


def cell(v):
    if not v:
        return "—"
    m = statistics.median(v)
    return f"{fmt(m)} [{fmt(min(v))}–{fmt(max(v))}]" if len(v) > 1 else fmt(m)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/http-raw.txt"
    vals, fails = parse(path)
    runs = max((len(v) for d in vals.values() for v in d.values()), default=0)
    ratios = []
    for case, (title, (weft, peer)) in CASES.items():
        impls = [i for i in (weft, peer) if (case, i) in vals]
        impls += sorted(i for c, i in vals if c == case and i not in impls)
        if not impls:
            continue
        print(f"### {title}\n")
        both = weft in impls and peer in impls
        print("| metric | better | " + " | ".join(impls) +
              (f" | {weft} / {peer} |" if both else " |"))
        print("|---|---|" + "---|" * len(impls) + ("---|" if both else ""))
        for key, label, higher in METRICS:
            if not any(vals[(case, i)].get(key) for i in impls):
                continue
            row = [cell(vals[(case, i)].get(key)) for i in impls]
            r = ""
            if both:
                a, b = vals[(case, weft)].get(key), vals[(case, peer)].get(key)
                if a and b and statistics.median(b) != 0:
                    q = statistics.median(a) / statistics.median(b)
                    r = f"{q:.2f}"
                    if key in ("req_per_s", "cpu_us_per_req", "server_cpu_us_per_req"):
                        ratios.append((f"{weft} / {peer}, {label}", q, higher))
                else:
                    r = "—"
            print(f"| {label} | {'higher' if higher else 'lower'} | " + " | ".join(row) +
                  (f" | {r} |" if both else " |"))
        print()
    if ratios:
        print("Ratios of medians:\n")
        for label, q, higher in ratios:
            better = q > 1 if higher else q < 1
            print(f"- {label}: **{q:.2f}** ({'weft better' if better else 'peer better'})")
        print()
    print(f"median [min–max] of up to {runs} runs; implementations alternate within each "
          "repetition (order swapped every repetition); wrk -t1 and the clients run on the "
          "same machine as the server.")
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

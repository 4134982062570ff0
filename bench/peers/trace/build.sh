#!/usr/bin/env bash
# Build the Go peer of bench/run_trace_overhead.sh (skynet under Go's execution tracer).
# With --install, first apt-get install golang-go when missing (as root; Debian's
# repositories only: nothing comes from the Go proxy).
#   ./build.sh [--install]
# Output: go/trace-bench (in .gitignore).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

. ../debs.sh
need_debs "${1:-}" golang-go
echo "== go" && (cd go && GOPROXY=off GOFLAGS=-mod=mod go build -o trace-bench .)
echo "built: go/trace-bench"

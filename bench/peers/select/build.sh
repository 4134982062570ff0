#!/usr/bin/env bash
# Build the Go peer of weft's select4 benchmark (bench/run_select.sh runs both).
# With --install, first apt-get install golang-go when missing (as root; Debian's
# repositories only: nothing comes from the Go proxy).
#   ./build.sh [--install]
# Output: go/select-bench (in .gitignore).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

. ../debs.sh
need_debs "${1:-}" golang-go
echo "== go" && (cd go && GOPROXY=off GOFLAGS=-mod=mod go build -o select-bench .)
echo "built: go/select-bench"

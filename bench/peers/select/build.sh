#!/usr/bin/env bash
# Build the Go peer of weft's select4 benchmark (bench/run_select.sh runs both).
# With --install, first apt-get install golang-go when missing (as root; Debian's
# repositories only: nothing comes from the Go proxy).
#   ./build.sh [--install]
# Output: go/select-bench (in .gitignore).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

if ! dpkg -s golang-go >/dev/null 2>&1; then
    if [[ ${1:-} == --install && $(id -u) -eq 0 ]]; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends golang-go
    else
        echo "build.sh: missing Debian package golang-go (run ./build.sh --install as root)" >&2
        exit 1
    fi
fi
echo "== go" && (cd go && GOPROXY=off GOFLAGS=-mod=mod go build -o select-bench .)
echo "built: go/select-bench"

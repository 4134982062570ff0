#!/usr/bin/env bash
# Installs the Debian 12 packages weft needs to build, test and benchmark.
#
# Idempotent and quiet when everything is present. When something is missing:
# as root it runs apt-get; otherwise it names the missing packages, prints the
# command to run, and exits 1.
#
# Environment: WEFT_SKIP_SETUP=1 skips the check (for machines that provide the
# libraries some other way; CMake still fails at configure time, naming what is missing).
set -euo pipefail

packages=(
    cmake
    gcc
    clang
    pkg-config
    liburing-dev       # io_uring, one ring per worker
    libck-dev          # concurrencykit: run queues, atomics
    libjemalloc-dev    # allocator for tasks and buffers
    libcmocka-dev      # unit tests
    node-llhttp        # HTTP/1.1 parser sources, compiled into the library
    libclang-rt-14-dev # runtime libraries for clang's sanitizers (ThreadSanitizer build)
    librsvg2-bin       # rsvg-convert: test_trace_tool renders weft-trace's SVG to PNG
    valgrind           # the examples also run under memcheck (valgrind_* tests)
)

if [[ "${WEFT_SKIP_SETUP:-0}" == 1 ]]; then
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup.sh: dpkg-query not found; this script knows only Debian 12." >&2
    echo "setup.sh: install the equivalents of: ${packages[*]}" >&2
    echo "setup.sh: continuing; CMake will name anything still missing." >&2
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    # "ii " = wanted install, currently installed, no error. Anything else (absent,
    # removed with config files left, half-installed) counts as missing.
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    if [[ "$status" != "ii "* ]]; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

apt_install=(apt-get install -y --no-install-recommends "${missing[@]}")

if [[ "$(id -u)" -ne 0 ]]; then
    echo "setup.sh: missing Debian packages: ${missing[*]}" >&2
    echo "setup.sh: install them as root with:" >&2
    echo "    apt-get update && DEBIAN_FRONTEND=noninteractive ${apt_install[*]}" >&2
    echo "setup.sh: (or run this script with sudo)" >&2
    exit 1
fi

echo "setup.sh: installing ${missing[*]}" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive "${apt_install[@]}"

#!/usr/bin/env bash
# Install smoke test: installs the weft build in BUILD_DIR into a temporary prefix and
# builds a program against it, both ways a user would:
#   1. CMake: find_package(weft) with CMAKE_PREFIX_PATH, linking weft::weft (static)
#      and weft::weft_shared (cmake/consumer/);
#   2. pkg-config: cc main.c $(pkg-config --cflags --libs --static weft), once against
#      the shared library and once against the static archive.
# Each program runs a task that spawns and joins a child and checks the result.
#
# Usage: cmake/install-check.sh BUILD_DIR     (a configured weft build directory)
# Uses the C compiler of BUILD_DIR. Exit 0 when everything built and ran.
set -euo pipefail

if [[ $# -ne 1 || ! -f $1/CMakeCache.txt ]]; then
    echo "usage: $0 BUILD_DIR (a configured weft build directory)" >&2
    exit 2
fi
build=$(readlink -f "$1")
here=$(dirname "$(readlink -f "$0")")
jobs=$(nproc)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-install-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cache_get() { # cache_get VAR: a value from BUILD_DIR's CMake cache
    sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n 1
}
cc=$(cache_get CMAKE_C_COMPILER)
sanitize=$(cache_get WEFT_SANITIZE)

step() { echo "--- install-check: $*"; }

step "build libraries ($build)"
cmake --build "$build" --parallel "$jobs" --target weft weft_shared

step "install into $prefix"
for component in weft_dev weft_runtime; do
    cmake --install "$build" --prefix "$prefix" --component "$component"
done

step "CMake consumer (find_package(weft))"
cmake -S "$here/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release
cmake --build "$tmp/consumer" --parallel "$jobs"
timeout 60 "$tmp/consumer/app"
timeout 60 "$tmp/consumer/app_shared"

step "pkg-config consumer"
pc=$(find "$prefix" -name weft.pc -print -quit)
if [[ -z $pc ]]; then
    echo "install-check: weft.pc was not installed" >&2
    exit 1
fi
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir weft)
read -r -a flags <<<"$(pkg-config --cflags --libs --static weft)"
cflags=(-std=c11 -O2 -Wall -Wextra -Werror)
if [[ -n $sanitize ]]; then
    cflags+=("-fsanitize=$sanitize")
fi
echo "pkg-config --cflags --libs --static weft: ${flags[*]}"

# -lweft picks libweft.so when both libraries are installed.
"$cc" "${cflags[@]}" "$here/consumer/main.c" "${flags[@]}" -o "$tmp/app_pc"
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} timeout 60 "$tmp/app_pc"

# The static archive alone: Requires.private and Libs.private must name everything.
static_flags=("${flags[@]/#-lweft/-l:libweft.a}")
"$cc" "${cflags[@]}" "$here/consumer/main.c" "${static_flags[@]}" -o "$tmp/app_pc_static"
if ldd "$tmp/app_pc_static" | grep -q 'libweft\.so'; then
    echo "install-check: app_pc_static links libweft.so, expected libweft.a" >&2
    exit 1
fi
timeout 60 "$tmp/app_pc_static"

step "ok"

#!/usr/bin/env bash
# Build the echo-server peers (bench/run_echo.sh compares them with examples/echo_server).
# With --install, first apt-get install the Debian packages they need when missing (as
# root; needs only Debian's apt repositories: nothing comes from crates.io or the Go proxy).
#   ./build.sh [--install]
# Outputs: go/echo-server, rust/target/release/echo-server (both in .gitignore).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

PKGS=(golang-go librust-tokio-dev librust-tokio-macros-dev)
# Debian's cargo 0.66 / rustc 1.63 build the Rust peer; a rustup cargo on PATH does too.
command -v cargo >/dev/null 2>&1 || PKGS+=(cargo)
. ../debs.sh
need_debs "${1:-}" "${PKGS[@]}"

echo "== go" && (cd go && GOPROXY=off go build -o echo-server .)
echo "== rust" && (cd rust && cargo build --release --offline) # crates from /usr/share/cargo/registry
echo "built: go/echo-server rust/target/release/echo-server"

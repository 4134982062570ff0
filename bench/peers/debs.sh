# Sourced by bench/peers/*/build.sh. need_debs MODE PKG...: checks that the Debian
# packages are installed; with MODE --install (as root) it apt-get installs the missing
# ones first (Debian's repositories only: nothing comes from crates.io or the Go proxy).
# Exits with a message naming what is missing otherwise.
need_debs() {
    local mode=$1 p
    shift
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    ((${#missing[@]})) || return 0
    if [[ $mode == --install ]]; then
        if [[ $(id -u) -ne 0 ]]; then
            echo "build.sh: --install needs root (missing: ${missing[*]})" >&2
            exit 1
        fi
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
        missing=()
        for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    fi
    if ((${#missing[@]})); then
        echo "build.sh: missing Debian packages: ${missing[*]} (run ./build.sh --install as root)" >&2
        exit 1
    fi
}

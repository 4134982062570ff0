#!/usr/bin/env bash
# Builds weft in Release (build/release, benchmarks on) and runs the main job.
#
# The main job is meant to be the bundled HTTP fetch benchmark (tools' weft-fetch on
# its embedded server). Until weft-fetch exists, the main job is the micro-benchmark
# suite (bench/, target weft_micro). Installs missing Debian packages first
# (tools/setup.sh), so run it as root on a fresh machine.
#
# Usage: tools/run-bench.sh [--micro | --fetch] [--peers] [-- args for the job]
#   --micro   run the micro-benchmark suite (default while weft-fetch does not exist)
#   --fetch   run the HTTP fetch benchmark (default once weft-fetch is built)
#   --peers   micro-benchmarks through bench/run_micro.sh, which also runs the peers
set -euo pipefail

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

cd "$(dirname "$(readlink -f "$0")")/.."
root=$PWD
dir=build/release

job=auto
peers=0
job_args=()
while (($#)); do
    case "$1" in
    --micro) job=micro ;;
    --fetch) job=fetch ;;
    --peers)
        peers=1
        if [[ $job == auto ]]; then job=micro; fi
        ;;
    --) shift; job_args=("$@"); break ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run-bench.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

tools/setup.sh

# Same directory as tools/run-tests.sh's Release build. WEFT_WERROR is left as
# cached (run-tests.sh turns it on), so alternating the two scripts does not
# rebuild the library; tests are not needed here.
echo "=== configure ($dir)"
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DWEFT_SANITIZE= \
    -DWEFT_BUILD_BENCH=ON -DWEFT_BUILD_TESTS=OFF
echo "=== build (-j$(nproc))"
cmake --build "$dir" --parallel "$(nproc)"

fetch_bin=$dir/tools/weft-fetch
micro_bin=$dir/bench/weft_micro

# The HTTP fetch benchmark: weft-fetch with no URL starts the bundled server in-process
# on a loopback port and fetches from it; its last stdout line is
# "requests=N ok=N errors=N seconds=S req_per_s=R p50_us=A p99_us=B max_us=C".
run_fetch() {
    if [[ ! -x $fetch_bin ]]; then
        echo "run-bench.sh: $fetch_bin was not built" >&2
        return 1
    fi
    echo "=== main job: HTTP fetch benchmark ($fetch_bin ${job_args[*]})"
    "$fetch_bin" "${job_args[@]}"
}

# The micro-benchmark suite: every benchmark at 1 and 2 workers (weft_micro all), or
# bench/run_micro.sh with --peers.
run_micro() {
    if ((peers)) && [[ -f bench/run_micro.sh ]]; then
        echo "=== main job: micro-benchmarks with peers (bench/run_micro.sh ${job_args[*]})"
        bash bench/run_micro.sh "${job_args[@]}"
        return
    fi
    if [[ ! -x $micro_bin ]]; then
        echo "run-bench.sh: $micro_bin was not built (is bench/ written yet?)" >&2
        return 1
    fi
    local args=("${job_args[@]}")
    ((${#args[@]})) || args=(all)
    echo "=== main job: micro-benchmarks ($micro_bin ${args[*]})"
    "$micro_bin" "${args[@]}"
}

if [[ $job == auto ]]; then
    if [[ -x $fetch_bin ]]; then job=fetch; else job=micro; fi
fi
case $job in
fetch) run_fetch ;;
micro) run_micro ;;
esac

#!/usr/bin/env bash
# Builds weft and runs every test under ctest, in each of these builds:
#
#   build/release  Release, -Werror                          (compiler: cc)
#   build/asan     RelWithDebInfo, AddressSanitizer + UBSan  (compiler: gcc)
#   build/tsan     RelWithDebInfo, ThreadSanitizer           (compiler: clang; only with --tsan)
#   build/fuzz     libFuzzer + ASan + UBSan on the HTTP request parser and on the trace
#                  reader, each run for $FUZZ_SECONDS (default 20) seconds from its seed
#                  corpus (clang)
#
# Installs missing Debian packages first (tools/setup.sh). Benchmarks are not built.
# Exits nonzero when any configure, build or test fails. The last line of output is
# "N passed, N failed", summed over the builds that ran; a build that fails to
# configure or compile counts as one failure; skipped tests (exit 77) are not counted.
#
# Usage: tools/run-tests.sh [--tsan] [--only release|asan|tsan|fuzz] [-- extra ctest args]
set -euo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

cd "$(dirname "$(readlink -f "$0")")/.."
root=$PWD

builds=(release asan fuzz)
ctest_extra=()
while (($#)); do
    case "$1" in
    --tsan) builds=(release asan tsan fuzz) ;;
    --only)
        [[ $# -ge 2 ]] || { usage >&2; exit 2; }
        builds=("$2")
        shift
        ;;
    --) shift; ctest_extra=("$@"); break ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run-tests.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

tools/setup.sh

jobs=$(nproc)
total_passed=0
total_failed=0
total_skipped=0
summary=()

# Sanitizer reports must fail the test that triggered them and say where.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"

# set_configure_args NAME: the compiler and CMake options of one build, into args.
set_configure_args() {
    local common=(-DWEFT_BUILD_TESTS=ON -DWEFT_BUILD_BENCH=OFF)
    case "$1" in
    release) args=(-DCMAKE_BUILD_TYPE=Release -DWEFT_WERROR=ON -DWEFT_SANITIZE= "${common[@]}") ;;
    asan)
        # shellcheck disable=SC2054 # the comma is part of the value
        # Small run queues (3 slots) here, so overflow into the injection queue and
        # stealing run constantly under the sanitizer.
        args=(-DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
            -DWEFT_SANITIZE=address,undefined -DWEFT_SMALL_QUEUES=ON "${common[@]}")
        ;;
    tsan)
        args=(-DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo
            -DWEFT_SANITIZE=thread "${common[@]}")
        ;;
    *) return 1 ;;
    esac
}

# run_fuzz: a short libFuzzer run of each target (the HTTP request parser, the trace
# reader); one test each in the totals.
run_fuzz() {
    local secs=${FUZZ_SECONDS:-20} t log passed=0 failed=0
    mkdir -p build
    for t in fuzz_http_request fuzz_trace_read; do
        log=build/$t.log
        echo "=== fuzz: $t for ${secs}s (build/fuzz)"
        if WEFT_FUZZ_BUILD=build/fuzz fuzz/run.sh "$secs" "$t" >"$log" 2>&1; then
            grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$log" | tail -n 2 || true
            passed=$((passed + 1))
        else
            tail -n 40 "$log"
            failed=$((failed + 1))
        fi
    done
    summary+=("fuzz: $passed passed, $failed failed (${secs}s each; logs build/fuzz_*.log, crashes build/fuzz/artifacts/)")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
}

# run_build NAME: configure, compile and test build/NAME; adds to the totals.
run_build() {
    if [[ $1 == fuzz ]]; then
        run_fuzz
        return
    fi
    local name=$1 dir=build/$1 log rc=0 line failed total skipped
    local -a args=() runner=()
    if ! set_configure_args "$name"; then
        echo "run-tests.sh: unknown build '$name'" >&2
        exit 2
    fi
    echo "=== $name: configure ($dir)"
    if ! cmake -S "$root" -B "$dir" "${args[@]}"; then
        summary+=("$name: configure FAILED")
        total_failed=$((total_failed + 1))
        return
    fi
    echo "=== $name: build (-j$jobs)"
    if ! cmake --build "$dir" --parallel "$jobs"; then
        summary+=("$name: build FAILED")
        total_failed=$((total_failed + 1))
        return
    fi

    if [[ $name == tsan ]]; then
        local tsan_opts="second_deadlock_stack=1"
        if [[ -f tests/tsan.supp ]]; then
            tsan_opts="suppressions=$root/tests/tsan.supp:$tsan_opts"
        fi
        export TSAN_OPTIONS="${TSAN_OPTIONS:-$tsan_opts}"
        # ThreadSanitizer before LLVM 18 cannot map its shadow memory when the kernel
        # randomises mmap with more than 28 bits; run without ASLR there.
        local bits
        bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)
        if ((bits > 28)) && command -v setarch >/dev/null; then
            runner=(setarch "$(uname -m)" -R)
        fi
    fi

    echo "=== $name: test"
    log=$dir/ctest.log
    set +e
    (cd "$dir" && "${runner[@]}" ctest --output-on-failure -j2 --timeout 300 \
        --no-tests=error "${ctest_extra[@]}") 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e

    # ctest ends with "NN% tests passed, F tests failed out of T".
    line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
    if [[ -n $line ]]; then
        failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
        total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
        if ((rc != 0 && failed == 0)); then
            failed=1 # ctest failed without a failing test (e.g. a crash of ctest itself)
            total=$((total + 1))
        fi
    else
        failed=1 total=1 # no summary: no tests found, or ctest could not run
    fi
    # Skipped tests (exit 77: a kernel feature is absent) count neither way; ctest
    # lists them as "  N - name (Skipped)" under "The following tests did not run:".
    skipped=$(grep -cE '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$log" || true)
    total_passed=$((total_passed + total - failed - skipped))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
    summary+=("$name: $((total - failed - skipped)) passed, $failed failed, $skipped skipped")
}

for b in "${builds[@]}"; do
    run_build "$b"
done

echo "=== summary"
printf '%s\n' "${summary[@]}"
if ((total_skipped)); then
    echo "($total_skipped skipped, not counted below)"
fi
echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
